"""Order statistics of samples, as the figures report them."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1): the smallest sample with at least q of all
    samples at or below it. p50 of an even count is the lower middle sample."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """Seconds in, milliseconds out: n, p50, p90, p99, mean, max."""
    if not samples:
        return {"n": 0}
    return {"n": len(samples),
            "p50_ms": statistics.median(samples) * 1000,
            "p90_ms": percentile(samples, 0.90) * 1000,
            "p99_ms": percentile(samples, 0.99) * 1000,
            "mean_ms": statistics.fmean(samples) * 1000,
            "max_ms": max(samples) * 1000}


def ratio(value: float, baseline: float) -> float:
    if baseline == 0 or math.isnan(baseline) or math.isnan(value):
        return math.nan
    return value / baseline
