"""A figure: one measured value, its baseline from the same run, and its goal."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from bench.stats import ratio

# ratio<= / ratio>=: value / baseline against the bound; value<= / value< / value==: the
# value itself against the bound (the baseline is then shown for context only).
GoalKind = Literal["ratio<=", "ratio>=", "value<=", "value<", "value==", "info"]


@dataclass(frozen=True)
class Figure:
    key: str            # stable identifier, e.g. "submit_latency.p50"
    title: str          # what the table shows
    unit: str
    value: float
    baseline: float | None
    goal_kind: GoalKind
    goal: float | None
    baseline_title: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else ratio(self.value, self.baseline)

    @property
    def measured(self) -> bool:
        return not math.isnan(self.value)

    @property
    def passed(self) -> bool | None:
        """None when the figure has no goal."""
        if self.goal_kind == "info" or self.goal is None:
            return None
        if not self.measured:
            return False
        if self.goal_kind.startswith("ratio"):
            r = self.ratio
            if r is None or math.isnan(r):
                return False
            return r <= self.goal if self.goal_kind == "ratio<=" else r >= self.goal
        return {"value<=": self.value <= self.goal, "value<": self.value < self.goal,
                "value==": self.value == self.goal}[self.goal_kind]

    @property
    def goal_text(self) -> str:
        if self.goal_kind == "info" or self.goal is None:
            return ""
        what = self.goal_kind.rstrip("<>=")
        op = self.goal_kind[len(what):]
        bound = f"{self.goal:g}" + ("" if what == "ratio" else f" {self.unit}")
        return f"{what} {op} {bound}"

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.update(ratio=self.ratio, passed=self.passed, goal_text=self.goal_text)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in doc.items()}
