"""How long to wait before the next attempt: exponential backoff with jitter. Pure.

Full jitter (a uniform draw from 0 up to the exponential ceiling) spreads out the retries
of many jobs that failed at the same moment, e.g. every job of a family when the shim
restarts, instead of sending them back in lockstep.
"""
from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass
from typing import Callable, Optional

# random.uniform's shape: a draw between two bounds; tests pass their own.
Uniform = Callable[[float, float], float]


@dataclass(frozen=True)
class Backoff:
    first: float = 0.25  # ceiling of the first wait, seconds
    factor: float = 2.0
    cap: float = 8.0  # no wait is longer (unless the API asks for it with Retry-After)

    def ceiling(self, attempt: int) -> float:
        """The longest wait after attempt `attempt` (0 for the first) failed."""
        return min(self.cap, self.first * self.factor ** min(attempt, 64))

    def delay(self, attempt: int, uniform: Uniform, retry_after: Optional[float] = None) -> float:
        """Full jitter, but never shorter than what the API asked for."""
        pause = uniform(0.0, self.ceiling(attempt))
        return max(pause, retry_after) if retry_after is not None else pause

    def poll(self, attempt: int, uniform: Uniform) -> float:
        """A polling interval: between half and all of the ceiling, so polls slow down
        steadily and never come back to back."""
        ceiling = self.ceiling(attempt)
        return uniform(ceiling / 2, ceiling)


def retry_after_seconds(value: Optional[str], now: float) -> Optional[float]:
    """Retry-After as seconds from now: delay-seconds or an HTTP date (RFC 9110); None if
    absent or unreadable. `now` is wall-clock time (time.time())."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    seconds = when.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None
