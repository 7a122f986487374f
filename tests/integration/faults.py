"""Helpers for fault-injection and hostile-input tests: bursts of SubmitJob calls through
the shim, what a family holds in the cluster, and reporting the numbers measured.

Sizes are bounded so `make test` stays short; DLWS_LONG_TESTS=1 (`make chaos`) runs the
longer versions.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from dlws_contract import resource
from tests.integration.jobs import Jobs

LONG = os.environ.get("DLWS_LONG_TESTS") == "1"
REPORT_ENV = "DLWS_RELIABILITY_REPORT"

JOB: dict[str, str] = {"jobName": "burst", "resourcegpu": "0", "dataPath": "d", "image": "busybox",
                       "jobType": "training", "cmd": "sleep 3600"}
# Flags for a shim whose family limits stay out of the way of a burst.
UNLIMITED = ("--max-live-jobs", "5000", "--submit-rate", "10000", "--submit-burst", "10000",
             "--request-rate", "10000", "--request-burst", "10000")


def scaled(default: int, long: int) -> int:
    return long if LONG else default


def report(test: str, **numbers: Any) -> None:
    """Prints what a test measured (visible with -s) and, when DLWS_RELIABILITY_REPORT names
    a file, appends it there as one JSON line: docs/reliability.md quotes these."""
    line = json.dumps({"test": test, "long": LONG, **numbers}, sort_keys=True)
    print(f"RELIABILITY {line}")
    path = os.environ.get(REPORT_ENV)
    if path:
        with Path(path).open("a") as f:
            f.write(line + "\n")


@dataclass
class Answer:
    status: int | None              # None: no HTTP answer (connection refused or reset)
    body: dict[str, Any] | None
    seconds: float

    @property
    def job_id(self) -> str | None:
        if self.status == 200 and self.body and isinstance(self.body.get("jobId"), str):
            return str(self.body["jobId"])
        return None


@dataclass
class Burst:
    """SubmitJob calls `count` times with at most `concurrency` in flight."""
    url: str
    token: str
    count: int
    concurrency: int
    params: dict[str, str] = field(default_factory=dict)
    started: int = 0
    answers: list[Answer] = field(default_factory=list)

    @property
    def in_flight(self) -> int:
        return self.started - len(self.answers)

    def job_ids(self) -> list[str]:
        return [a.job_id for a in self.answers if a.job_id]

    async def run(self, *, timeout: float = 60.0) -> list[Answer]:
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        async with aiohttp.ClientSession(connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            queue = iter(range(self.count))

            async def worker() -> None:
                for _ in queue:
                    self.started += 1
                    self.answers.append(await self._one(session))

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return self.answers

    async def _one(self, session: aiohttp.ClientSession) -> Answer:
        t0 = time.monotonic()
        query = {**JOB, **self.params, "familyToken": self.token}
        try:
            async with session.get(f"{self.url.rstrip('/')}/child/SubmitJob", params=query) as resp:
                body = await resp.json(content_type=None)
                return Answer(resp.status, body, time.monotonic() - t0)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
            return Answer(None, None, time.monotonic() - t0)

    async def until_answered(self, n: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.answers) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.answers)} of {n} answers after {timeout}s")
            await asyncio.sleep(0.01)


async def family_jobs(jobs: Jobs, digest: str) -> list[dict[str, Any]]:
    return await jobs.list_jobs(f"{resource.LABEL_FAMILY}={digest}")


async def all_running(jobs: Jobs, names: set[str]) -> bool:
    """Every named job is Running with a pod IP (one list call, not one GET per job)."""
    listed = {j["metadata"]["name"]: j.get("status") or {} for j in await jobs.list_jobs()}
    return all(listed.get(n, {}).get("phase") == "Running" and listed[n].get("podIP") for n in names)


def summary(values: list[float]) -> dict[str, float]:
    """p50, p99 and max of latencies, in milliseconds."""
    if not values:
        return {}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)
    return {"p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": round(1000 * ordered[-1], 1),
            "n": len(values)}


