"""Family limits: submissions per second, live jobs, depth.

A job that submits children in an endless loop meets these, and only its own family is
slowed: every limit is kept per family. Pure bookkeeping; the caller passes the clock.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from api_shim.settings import Settings

# A family at its live-job limit frees a slot only when one of its jobs ends; depth never
# frees. These say when a retry is worth it.
LIVE_RETRY_AFTER: Final = 10.0
DEPTH_RETRY_AFTER: Final = 3600.0
# A job reserved for the live-job count but never seen by the watch is forgotten after
# this long (its create failed in a way we did not see, or the watch is far behind).
RESERVATION_TTL: Final = 60.0
# Buckets of families that have not submitted lately are dropped once there are this many.
PRUNE_AT: Final = 10_000


class LimitExceeded(Exception):
    def __init__(self, limit: str, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.limit = limit          # rate | live | depth, a metrics label
        self.message = message
        self.retry_after = retry_after


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Takes one token; 0.0 if there was one, else the seconds until there will be."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def full_at(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.rate >= self.burst


@dataclass
class FamilyLimits:
    max_live_jobs: int
    max_depth: int
    rate: float
    burst: int
    request_rate: float = 100.0
    request_burst: int = 200
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _request_buckets: dict[str, TokenBucket] = field(default_factory=dict)
    # Jobs this process has created (or is creating) that the index may not show yet:
    # digest -> {job name: expiry}. Without them, concurrent submissions would all see
    # the same count and together pass the limit.
    _reserved: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> FamilyLimits:
        return cls(max_live_jobs=settings.max_live_jobs, max_depth=settings.max_depth,
                   rate=settings.submit_rate, burst=settings.submit_burst,
                   request_rate=settings.request_rate, request_burst=settings.request_burst)

    def take_request(self, digest: str, now: float) -> None:
        """One request of any operation by the family; raises LimitExceeded past its rate."""
        wait = self._take(self._request_buckets, digest, self.request_rate, self.request_burst, now)
        if wait > 0:
            raise LimitExceeded("requests", f"too many requests: this family may make "
                                f"{self.request_rate:g} requests per second (bursts of "
                                f"{self.request_burst})", wait)

    def take_submission(self, digest: str, now: float) -> None:
        wait = self._take(self._buckets, digest, self.rate, self.burst, now)
        if wait > 0:
            raise LimitExceeded("rate", f"too many submissions: this family may submit "
                                f"{self.rate:g} jobs per second (bursts of {self.burst})", wait)

    def _take(self, buckets: dict[str, TokenBucket], digest: str, rate: float, burst: int,
              now: float) -> float:
        """A token from the family's bucket in `buckets` (made full on first use): 0.0,
        or the seconds until one is there."""
        bucket = buckets.get(digest)
        if bucket is None:
            if len(buckets) >= PRUNE_AT:
                self._prune(now)
            bucket = buckets[digest] = TokenBucket(rate, burst, burst, now)
        return bucket.take(now)

    def check_depth(self, depth: int) -> None:
        """depth: of the job to be made; the root is 0, its children 1."""
        if depth > self.max_depth:
            raise LimitExceeded("depth", f"too deep: a job may be at most {self.max_depth} "
                                f"levels below its family root", DEPTH_RETRY_AFTER)

    def reserve(self, digest: str, name: str, *, indexed_live: int, is_indexed: Callable[[str], bool],
                now: float) -> None:
        """Counts the new job against the family's live jobs, or raises LimitExceeded.

        indexed_live: live jobs of the family in the index; is_indexed(name): whether the
        index already holds a job (so a reservation is not counted twice).
        """
        reserved = self._reserved.setdefault(digest, {})
        for job, expiry in list(reserved.items()):
            if expiry <= now or is_indexed(job):
                del reserved[job]
        if indexed_live + len(reserved) >= self.max_live_jobs:
            if not reserved:
                del self._reserved[digest]
            raise LimitExceeded("live", f"too many live jobs: a family may have at most "
                                f"{self.max_live_jobs} unfinished jobs, root included",
                                LIVE_RETRY_AFTER)
        reserved[name] = now + RESERVATION_TTL

    def release(self, digest: str, name: str) -> None:
        """The create failed: the reservation holds no job."""
        reserved = self._reserved.get(digest)
        if reserved is not None:
            reserved.pop(name, None)
            if not reserved:
                del self._reserved[digest]

    def _prune(self, now: float) -> None:
        for buckets in (self._buckets, self._request_buckets):
            for digest in [d for d, b in buckets.items() if b.full_at(now)]:
                del buckets[digest]

