"""1. SubmitJob latency, sequential: through the shim vs. a direct create.

Figure: the time of one `GET /child/SubmitJob` (token in the query, keep-alive, as the
seed samples send it) from this process to the shim, until its `{"jobId": ...}` answer
is read. Inside, the shim makes one create call on the API server.

Baseline: the same DLWSJob body (api_shim.child_job.build_child, the same spec, parent
and labels) created directly on the API server from this process with
dlws_contract.kube_api, the call and the arguments the shim uses
(fieldValidation=Strict): the same client machinery, minus the shim.

The caller lookup (which job of the family calls, by its Pod's address: callers.py) is
timed the same way, as two more paths: SubmitJob from the root's Pod address (passed on
in X-Forwarded-For, as a trusted proxy would: the benchmark's shim trusts loopback), which
the shim matches to the root, against the same call to a second shim started with
--caller-lookup=false. Both make the same job below the root.

The paths are interleaved one request at a time, rotating which goes first, so all see
the same cluster load (the operator makes a Pod for every job either way). After a
warm-up, p50/p90/p99 of each; ratios are shim / direct. Goals: p50 <= 1.25, p99 <= 1.5.
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bench.context import Context, Measurement
from bench.figures import Figure
from bench.jobs import JobsApi
from bench.processes import RAISED_LIMITS
from bench.shim_client import ShimClient
from bench.stats import summary_ms
from devcluster.commands import shim_command
from devcluster.managed import ManagedProcess


async def measure(ctx: Context) -> Measurement:
    sizes = ctx.sizes
    unlooked = ManagedProcess(shim_command(ctx.kubeconfig, flags=(*RAISED_LIMITS, "--caller-lookup", "false"),
                                           name="dlws-api-shim-no-lookup"), log_dir=ctx.logs)
    await unlooked.start_async()
    unlooked_client = ShimClient(unlooked.url)
    try:
        async with ctx.namespace("latency") as ns:
            return await _measure(ctx, JobsApi(ctx.api, ns), unlooked_client)
    finally:
        await unlooked_client.close()
        unlooked.stop()


async def _measure(ctx: Context, jobs: JobsApi, unlooked: ShimClient) -> Measurement:
    sizes = ctx.sizes
    family = await jobs.make_family("latency-root")
    root_ip = await jobs.pod_ip(family.root.name)

    async def direct() -> float:
        body = jobs.child_body(family, family.root)
        start = time.perf_counter()
        await jobs.create(body, timeout=10.0)
        return time.perf_counter() - start

    async def shim() -> float:
        start = time.perf_counter()
        await ctx.shim.submit(family)
        return time.perf_counter() - start

    async def matched() -> float:
        start = time.perf_counter()
        await ctx.shim.submit(family, forwarded_for=root_ip)
        return time.perf_counter() - start

    async def lookup_off() -> float:
        start = time.perf_counter()
        await unlooked.submit(family, forwarded_for=root_ip)
        return time.perf_counter() - start

    paths: list[tuple[str, Callable[[], Awaitable[float]]]] = [
        ("direct", direct), ("shim", shim), ("matched", matched), ("lookup_off", lookup_off)]
    samples: dict[str, list[float]] = {name: [] for name, _ in paths}
    ctx.say(f"latency: {sizes.latency_samples} calls of each of {', '.join(samples)}, interleaved")
    for i in range(sizes.latency_warmup + sizes.latency_samples):
        for name, fn in paths[i % len(paths):] + paths[:i % len(paths)]:
            took = await fn()
            if i >= sizes.latency_warmup:
                samples[name].append(took)
    shim_s, direct_s = summary_ms(samples["shim"]), summary_ms(samples["direct"])
    matched_s, off_s = summary_ms(samples["matched"]), summary_ms(samples["lookup_off"])
    base = "direct create (kubernetes.aio)"
    figures = [
        Figure("submit_latency.p50", "SubmitJob latency p50 (sequential)", "ms", shim_s["p50_ms"],
               direct_s["p50_ms"], "ratio<=", 1.25, base),
        Figure("submit_latency.p90", "SubmitJob latency p90 (sequential)", "ms", shim_s["p90_ms"],
               direct_s["p90_ms"], "info", None, base),
        Figure("submit_latency.p99", "SubmitJob latency p99 (sequential)", "ms", shim_s["p99_ms"],
               direct_s["p99_ms"], "ratio<=", 1.5, base),
        Figure("submit_latency.caller_lookup.p50", "SubmitJob latency p50, calling job matched by address",
               "ms", matched_s["p50_ms"], off_s["p50_ms"], "info", None, "the same call, --caller-lookup=false"),
    ]
    return Measurement(figures, {"shim": shim_s, "direct": direct_s, "matched": matched_s, "lookup_off": off_s,
                                 "overhead_p50_ms": shim_s["p50_ms"] - direct_s["p50_ms"]})
