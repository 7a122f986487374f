"""8. A sweep under ttlSecondsAfterFinished: objects in etcd stay level, not growing.

A root submits N children at a steady rate (N over sweep_seconds), each with
spec.ttlSecondsAfterFinished = sweep_ttl (the DLWSJob field: the same rule as the
operator's default, decisions.cleanup); each child's Pod is ended (Succeeded, kwok's
completion annotation) as soon as it runs. Every 2 s the count of the namespace's
DLWSJobs and Pods is read from the API server (a LIST of one item and its
remainingItemCount: etcd's count, not a cache). Without a TTL the count would end at
2N + 2; with one it levels off near rate x (TTL + the time a job runs) and falls back
to the root's 2 once the sweep is over.

Figures: the peak count against 2N + 2 (what keeping every job would hold), and the
count at the end of the sweep against the peak (level: about 1).
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.context import Context, Measurement
from bench.figures import Figure
from bench.jobs import JobsApi
from dlws_contract import kube_api
from dlws_contract.kube_api import core_path, job_path
from devcluster.waiting import until

COMPLETE = "devcluster.dlworkspace.io/complete"  # kwok ends a Pod so (devcluster/stages)
SAMPLE_EVERY = 2.0


async def count(jobs: JobsApi, path: str) -> int:
    page = await jobs.kube.request("GET", path, query=[("limit", 1)])
    return len(page.get("items") or []) + int((page.get("metadata") or {}).get("remainingItemCount") or 0)


async def objects(jobs: JobsApi) -> int:
    return await count(jobs, job_path(jobs.namespace)) + await count(jobs, core_path(jobs.namespace, "pods"))


async def finisher(jobs: JobsApi, done: set[str]) -> None:
    """Ends every running child Pod (kwok runs no process); forever, until cancelled."""
    while True:
        page = await jobs.kube.request("GET", core_path(jobs.namespace, "pods"))
        for pod in page.get("items") or []:
            name = pod["metadata"]["name"]
            if name in done or (pod.get("status") or {}).get("phase") != "Running" or name == "sweep-root":
                continue
            done.add(name)
            await jobs.kube.request("PATCH", core_path(jobs.namespace, "pods", name),
                                    body={"metadata": {"annotations": {COMPLETE: "Succeeded"}}},
                                    content_type=kube_api.MERGE_PATCH)
        await asyncio.sleep(0.5)


async def measure(ctx: Context) -> Measurement:
    sizes = ctx.sizes
    n, ttl, seconds = sizes.sweep_jobs, sizes.sweep_ttl, sizes.sweep_seconds
    async with ctx.namespace("sweep") as ns:
        jobs = JobsApi(ctx.api, ns)
        family = await jobs.make_family("sweep-root")
        series: list[tuple[float, int]] = []
        start = time.monotonic()

        async def sample() -> None:
            while True:
                series.append((round(time.monotonic() - start, 1), await objects(jobs)))
                await asyncio.sleep(SAMPLE_EVERY)

        tasks = [asyncio.create_task(sample()), asyncio.create_task(finisher(jobs, set()))]
        try:
            ctx.say(f"ttl sweep: {n} children over {seconds:.0f}s, ttlSecondsAfterFinished={ttl}")
            for i in range(n):
                body: dict[str, Any] = jobs.child_body(family, family.root)
                body["spec"]["ttlSecondsAfterFinished"] = ttl
                await jobs.create(body)
                await asyncio.sleep(max(0.0, start + (i + 1) * seconds / n - time.monotonic()))
            submitted_at = time.monotonic() - start
            at_end_of_sweep = await objects(jobs)

            async def cleaned() -> bool:
                return await objects(jobs) <= 2
            await until("the sweep's jobs deleted", cleaned, timeout=sizes.measurement_timeout,
                        interval=1.0, max_interval=2.0)
            drained_at = time.monotonic() - start
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    peak = max(c for _, c in series)
    # The level: the last third of the sweep (past the first TTL), its highest and lowest.
    level = [c for t, c in series if submitted_at * 2 / 3 <= t <= submitted_at] or [at_end_of_sweep]
    details = {"jobs": n, "ttl_s": ttl, "sweep_s": seconds, "submitted_at_s": submitted_at,
               "drained_at_s": drained_at, "peak_objects": peak, "objects_at_end_of_sweep": at_end_of_sweep,
               "level_min_max": [min(level), max(level)], "kept_without_ttl": 2 * n + 2, "series": series}
    return Measurement([
        Figure("ttl_sweep.peak_objects", f"DLWSJobs + Pods in etcd, peak, {n}-job sweep, TTL {ttl}s", "objects",
               peak, 2 * n + 2, "info", None, "every job and Pod kept (no TTL)",
               note=f"the sweep over {seconds:.0f}s; all deleted {drained_at - submitted_at:.0f}s after its end"),
        Figure("ttl_sweep.level", f"DLWSJobs + Pods in etcd, last third of the {n}-job sweep, highest", "objects",
               max(level), min(level), "info", None, "the lowest in the same window",
               note="level, not growing: about 1"),
    ], details)
