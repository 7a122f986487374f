"""1. SubmitJob latency, sequential: through the shim vs. a direct create.

Figure: the time of one `GET /child/SubmitJob` (token in the query, keep-alive, as the
seed samples send it) from this process to the shim, until its `{"jobId": ...}` answer
is read. Inside, the shim makes one create call on the API server.

Baseline: the same DLWSJob body (api_shim.child_job.build_child, the same spec, parent
and labels) created directly on the API server from this process with
dlws_contract.kube_api, the call and the arguments the shim uses
(fieldValidation=Strict): the same client machinery, minus the shim.

The two are interleaved one request at a time, alternating which goes first, so both see
the same cluster load (the operator makes a Pod for every job either way). After a
warm-up, p50/p90/p99 of each; ratios are shim / direct. Goals: p50 <= 1.25, p99 <= 1.5.
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bench.context import Context, Measurement
from bench.figures import Figure
from bench.jobs import JobsApi
from bench.stats import summary_ms


async def measure(ctx: Context) -> Measurement:
    sizes = ctx.sizes
    async with ctx.namespace("latency") as ns:
        jobs = JobsApi(ctx.api, ns)
        family = await jobs.make_family("latency-root")

        async def direct() -> float:
            body = jobs.child_body(family, family.root)
            start = time.perf_counter()
            await jobs.create(body, timeout=10.0)
            return time.perf_counter() - start

        async def shim() -> float:
            start = time.perf_counter()
            await ctx.shim.submit(family)
            return time.perf_counter() - start

        samples: dict[str, list[float]] = {"direct": [], "shim": []}
        paths: list[tuple[str, Callable[[], Awaitable[float]]]] = [("direct", direct), ("shim", shim)]
        ctx.say(f"latency: {sizes.latency_samples} SubmitJob and {sizes.latency_samples} direct creates, interleaved")
        for i in range(sizes.latency_warmup + sizes.latency_samples):
            for name, fn in (paths if i % 2 == 0 else paths[::-1]):
                took = await fn()
                if i >= sizes.latency_warmup:
                    samples[name].append(took)
    shim_s, direct_s = summary_ms(samples["shim"]), summary_ms(samples["direct"])
    base = "direct create (kubernetes.aio)"
    figures = [
        Figure("submit_latency.p50", "SubmitJob latency p50 (sequential)", "ms", shim_s["p50_ms"],
               direct_s["p50_ms"], "ratio<=", 1.25, base),
        Figure("submit_latency.p90", "SubmitJob latency p90 (sequential)", "ms", shim_s["p90_ms"],
               direct_s["p90_ms"], "info", None, base),
        Figure("submit_latency.p99", "SubmitJob latency p99 (sequential)", "ms", shim_s["p99_ms"],
               direct_s["p99_ms"], "ratio<=", 1.5, base),
    ]
    return Measurement(figures, {"shim": shim_s, "direct": direct_s,
                                 "overhead_p50_ms": shim_s["p50_ms"] - direct_s["p50_ms"]})
