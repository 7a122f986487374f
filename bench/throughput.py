"""2. SubmitJob throughput at N concurrent clients vs. direct creates at N concurrency.

Figure: N client tasks in this process each send SubmitJob to the shim (one keep-alive
session, token in the query) back to back until R submissions are done; rate =
successful submissions / wall time from the first request to the last answer.

Baseline: the same with direct creates of the same DLWSJob body on the API server
through kubernetes.aio (as in measurement 1), N at a time.

Rounds alternate which path goes first (direct, shim, then shim, direct, ...), each
starts once the operator is idle (done making the Pods of the last round's jobs), and
the rates are totals over all rounds. Afterwards every jobId the shim returned is looked up
in a list of the family's DLWSJobs. Goals: shim rate >= 0.8 x direct rate, zero
errors, no returned jobId missing.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.context import Context, Measurement
from bench.figures import Figure
from bench.jobs import JobsApi
from bench.processes import wait_idle
from dlws_contract import resource


class Run:
    def __init__(self) -> None:
        self.ok = 0
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.seconds = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


async def drive(clients: int, requests: int, one: Callable[[], Awaitable[str]], run: Run) -> None:
    """`clients` tasks issue `requests` calls in all, each starting its next call as soon
    as its last one answered."""
    left = requests

    async def client_task() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            try:
                run.ids.append(await one())
                run.ok += 1
            except Exception as e:  # counted, and the first few kept for the report
                run.errors.append(f"{type(e).__name__}: {str(e)[:200]}")

    start = time.perf_counter()
    await asyncio.gather(*(client_task() for _ in range(clients)))
    run.seconds += time.perf_counter() - start


async def measure(ctx: Context) -> Measurement:
    sizes = ctx.sizes
    clients, requests = sizes.throughput_clients, sizes.throughput_requests
    runs = {"direct": Run(), "shim": Run()}
    async with ctx.namespace("throughput") as ns:
        jobs = JobsApi(ctx.api, ns)
        family = await jobs.make_family("throughput-root")

        async def direct() -> str:
            body = jobs.child_body(family, family.root)
            await jobs.create(body, timeout=30.0)
            return str(body["metadata"]["name"])

        async def shim() -> str:
            return await ctx.shim.submit(family)

        paths: list[tuple[str, Callable[[], Awaitable[str]]]] = [("direct", direct), ("shim", shim)]
        for r in range(sizes.throughput_rounds):
            for name, fn in (paths if r % 2 == 0 else paths[::-1]):
                await wait_idle(ctx.operator.pid, sizes.measurement_timeout)
                ctx.say(f"throughput: round {r + 1}, {requests} {name} creates by {clients} clients")
                await drive(clients, requests, fn, runs[name])
        existing = {j["metadata"]["name"] for j in await jobs.list_jobs(
            f"{resource.LABEL_ROOT}={family.root.name}")}
    missing = [i for i in runs["shim"].ids if i not in existing]
    details: dict[str, Any] = {
        name: {"ok": run.ok, "errors": len(run.errors), "first_errors": run.errors[:5],
               "seconds": run.seconds, "per_second": run.rate}
        for name, run in runs.items()}
    details.update(clients=clients, requests_per_round=requests, rounds=sizes.throughput_rounds,
                   shim_ids_missing=len(missing), first_missing=missing[:5])
    base = f"direct creates, {clients} concurrent"
    figures = [
        Figure("throughput.rate", f"SubmitJob throughput, {clients} concurrent clients", "jobs/s",
               runs["shim"].rate, runs["direct"].rate, "ratio>=", 0.8, base),
        Figure("throughput.errors", "SubmitJob errors during the throughput run", "errors",
               float(len(runs["shim"].errors)), float(len(runs["direct"].errors)), "value==", 0.0,
               "errors of the direct creates"),
        Figure("throughput.missing", "returned jobIds not found afterwards", "jobs",
               float(len(missing)), None, "value==", 0.0),
    ]
    return Measurement(figures, details)
