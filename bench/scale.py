"""5. Scale: the operator and the shim with N live DLWSJobs (2,000 in the full run).

The shim is restarted first and the operator restarted at ~0 jobs, so each process's
history is this measurement's. Then, at ~0 jobs and again with N live jobs (families of
F jobs: roots created as a user would, children created directly with the shim's body,
all running with an IP before anything is measured):

- Memory: VmRSS (resident now) and VmHWM (resident peak since the process started)
  from /proc/<pid>/status, in MB of 10^6 bytes. The figure is the peak: it covers
  handling the creation of all N jobs. Goals: operator <= 150 MB, shim <= 80 MB.
- Shim request latency: p50 of JobDetail (one job of a measured family) and of
  SubmitJob into that family, S samples each, interleaved. Figure at N jobs, baseline
  at ~0 jobs in the same process; both taken once the operator is idle (so that its
  catching up does not load the API server). Goal: ratio <= 1.10.
- Operator start-up: stop the operator, create a new job (a child, as the shim makes
  it), start the operator, and time from starting the process until a watch sees the
  job's Pod (also: until the job's status shows the Pod's IP). On restart the operator
  also resumes every existing job. Figure with N jobs, baseline with ~0. Goal: < 30 s.
  Its peak memory after that restart, once it has gone idle (every job resumed: its
  CPU time grows by less than 5 % of a core over 2 s), is reported too.
"""
from __future__ import annotations

import time
from functools import partial
from typing import Any

from bench.context import Context, Measurement
from bench.figures import Figure
from bench.client import bounded
from bench.jobs import Family, JobsApi
from bench.processes import memory_mb, wait_idle
from bench.shim_client import ShimClient
from bench.stats import summary_ms
from bench.tracker import Tracker, has_pod_ip, jobs_call, pods_call

CREATORS = 32


async def restart_shim(ctx: Context) -> None:
    await ctx.shim.close()
    ctx.shim_process.stop()
    await ctx.shim_process.start_async()
    ctx.shim = ShimClient(ctx.shim.url)


async def operator_startup(ctx: Context, jobs: JobsApi, family: Family) -> dict[str, float]:
    """Restarts the operator with one new job waiting; seconds to its Pod and its IP."""
    ctx.operator.stop()
    body = jobs.child_body(family, family.root)
    name = str(body["metadata"]["name"])
    pod = Tracker(pods_call(ctx.api, jobs.namespace), match=lambda _: True, field_selector=f"metadata.name={name}")
    job = Tracker(jobs_call(ctx.api, jobs.namespace), match=has_pod_ip, field_selector=f"metadata.name={name}")
    await pod.start()
    await job.start()
    try:
        await jobs.create(body)
        start = time.perf_counter()
        ctx.operator.spawn()
        pod_at = await pod.matched_at(name, ctx.sizes.measurement_timeout)
        ip_at = await job.matched_at(name, ctx.sizes.measurement_timeout)
        await ctx.operator.wait_ready_async()
    finally:
        await pod.stop()
        await job.stop()
    return {"to_pod_s": pod_at - start, "to_status_ip_s": ip_at - start}


async def shim_latency(ctx: Context, family: Family, probe: str) -> dict[str, dict[str, float]]:
    detail: list[float] = []
    submit: list[float] = []
    for i in range(ctx.sizes.scale_samples + 1):  # the first pair warms up
        t0 = time.perf_counter()
        await ctx.shim.detail(family, probe)
        t1 = time.perf_counter()
        await ctx.shim.submit(family)
        t2 = time.perf_counter()
        if i > 0:
            detail.append(t1 - t0)
            submit.append(t2 - t1)
    return {"JobDetail": summary_ms(detail), "SubmitJob": summary_ms(submit)}


def memory(ctx: Context) -> dict[str, dict[str, float]]:
    return {"operator": memory_mb(ctx.operator.pid), "shim": memory_mb(ctx.shim_process.pid)}


async def load(ctx: Context, jobs: JobsApi, first: Family, target: int, family_size: int) -> int:
    """Fills the namespace up to `target` live jobs in families of `family_size`."""
    existing = len(await jobs.list_jobs())
    families = [first]
    count = max(1, -(-target // family_size))
    roots = await bounded(CREATORS, [partial(jobs.make_family, f"scale-root-{i}", timeout=300.0)
                                     for i in range(1, count)])
    families.extend(roots)
    existing += len(roots)
    sizes = {f.root.name: 1 for f in families}
    sizes[first.root.name] = existing - len(roots)
    plan: list[Family] = []
    for fam in families:
        plan.extend([fam] * max(0, family_size - sizes[fam.root.name]))
    plan = plan[:max(0, target - existing)]
    ctx.say(f"scale: creating {len(plan)} children in {len(families)} families")
    await bounded(CREATORS, [partial(jobs.create, jobs.child_body(f, f.root)) for f in plan])
    total = existing + len(plan)
    settled = await jobs.wait_handled(total, ctx.sizes.measurement_timeout)
    ctx.say(f"scale: {total} jobs running ({settled:.1f}s for the operator to catch up)")
    return total


async def measure(ctx: Context) -> Measurement:
    sizes = ctx.sizes
    await restart_shim(ctx)
    async with ctx.namespace("scale", timeout=sizes.measurement_timeout) as ns:
        jobs = JobsApi(ctx.api, ns)
        family = await jobs.make_family("scale-root-0")
        probe = await ctx.shim.submit(family)
        await jobs.wait_handled(2, 120.0)

        ctx.say("scale: operator start-up, latency and memory at ~0 jobs")
        startup0 = await operator_startup(ctx, jobs, family)
        await wait_idle(ctx.operator.pid, sizes.measurement_timeout)
        latency0 = await shim_latency(ctx, family, probe)
        memory0 = memory(ctx)

        live = await load(ctx, jobs, family, sizes.scale_jobs, sizes.scale_family_size)
        ctx.say(f"scale: memory, latency and operator start-up with {live} jobs")
        await wait_idle(ctx.operator.pid, sizes.measurement_timeout)
        memory_n = memory(ctx)
        latency_n = await shim_latency(ctx, family, probe)
        startup_n = await operator_startup(ctx, jobs, family)
        # The restarted operator resumes every job; its memory once it has gone idle.
        resumed = await wait_idle(ctx.operator.pid, sizes.measurement_timeout)
        after_restart = memory_mb(ctx.operator.pid)

    details: dict[str, Any] = {
        "live_jobs": live, "family_size": sizes.scale_family_size,
        "at_0": {"memory_mb": memory0, "latency": latency0, "operator_startup": startup0},
        "at_n": {"memory_mb": memory_n, "latency": latency_n, "operator_startup": startup_n},
        "operator_after_restart_at_n_mb": after_restart,
        "operator_idle_s_after_new_job_handled": resumed,
    }
    at0 = "at ~0 jobs"
    figures = [
        Figure("scale.operator_hwm_mb", f"operator peak resident memory (VmHWM), {live} jobs", "MB",
               memory_n["operator"]["VmHWM"], memory0["operator"]["VmHWM"], "value<=", 150.0, at0),
        Figure("scale.operator_rss_mb", f"operator resident memory (VmRSS), {live} jobs", "MB",
               memory_n["operator"]["VmRSS"], memory0["operator"]["VmRSS"], "value<=", 150.0, at0),
        Figure("scale.operator_restart_hwm_mb", f"operator peak memory after a restart with {live} jobs", "MB",
               after_restart["VmHWM"], memory0["operator"]["VmHWM"], "value<=", 150.0, at0),
        Figure("scale.shim_hwm_mb", f"shim peak resident memory (VmHWM), {live} jobs", "MB",
               memory_n["shim"]["VmHWM"], memory0["shim"]["VmHWM"], "value<=", 80.0, at0),
        Figure("scale.shim_rss_mb", f"shim resident memory (VmRSS), {live} jobs", "MB",
               memory_n["shim"]["VmRSS"], memory0["shim"]["VmRSS"], "value<=", 80.0, at0),
        Figure("scale.operator_startup_s", f"operator start-up to a new job's Pod, {live} jobs", "s",
               startup_n["to_pod_s"], startup0["to_pod_s"], "value<", 30.0, at0),
        Figure("scale.operator_startup_ip_s", f"operator start-up to a new job's IP in status, {live} jobs",
               "s", startup_n["to_status_ip_s"], startup0["to_status_ip_s"], "info", None, at0),
        Figure("scale.jobdetail_p50", f"shim JobDetail p50, {live} jobs", "ms",
               latency_n["JobDetail"]["p50_ms"], latency0["JobDetail"]["p50_ms"], "ratio<=", 1.10, at0),
        Figure("scale.submit_p50", f"shim SubmitJob p50, {live} jobs", "ms",
               latency_n["SubmitJob"]["p50_ms"], latency0["SubmitJob"]["p50_ms"], "ratio<=", 1.10, at0),
    ]
    return Measurement(figures, details)
