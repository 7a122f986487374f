"""Admission: the family limits (limits.py) applied to requests, on the loop's clock.

A refusal is a 429 with Retry-After, counted by limit in the metrics.
"""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence

from prometheus_client import Counter

from api_shim.errors import TooMany
from api_shim.families import Family
from api_shim.limits import FamilyLimits, LimitExceeded
from api_shim.records import JobRecord


class Admission:
    def __init__(self, limits: FamilyLimits, rejections: Counter) -> None:
        self._limits = limits
        self._rejections = rejections

    def request(self, family: Family) -> None:
        """One request of any operation, within the family's request rate."""
        with self._refused_as_429():
            self._limits.take_request(family.digest, asyncio.get_running_loop().time())

    @contextlib.asynccontextmanager
    async def submission(self, family: Family, chain: Sequence[JobRecord],
                         name: str | None = None) -> AsyncIterator[str]:
        """The name of a new job below chain[0] (chain: up to the root, so its length is
        the new job's depth), within the family's submission rate, depth and live jobs:
        `name` if given (an idempotency key's), else a fresh uuid4.

        The job counts as live from here until the index shows it; if the body (the
        create) fails, its place is given back.
        """
        now = asyncio.get_running_loop().time()
        name = name or str(uuid.uuid4())
        with self._refused_as_429():
            self._limits.take_submission(family.digest, now)
            self._limits.check_depth(len(chain))
            self._limits.reserve(family.digest, name, indexed_live=family.live_jobs(),
                                 is_indexed=family.is_indexed, now=now)
        try:
            yield name
        except BaseException:
            self._limits.release(family.digest, name)
            raise

    @contextlib.contextmanager
    def _refused_as_429(self) -> Iterator[None]:
        try:
            yield
        except LimitExceeded as e:
            self._rejections.labels(e.limit).inc()
            raise TooMany(e.message, retry_after=e.retry_after) from None
