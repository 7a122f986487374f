"""7. JobDetail latency with the job's log against without it (log=0).

Figure: the time of one `GET /child/JobDetail` of a running child, sequential, from this
process to the shim until the answer is read, with the log (the default: the shim reads
the Pod's log through the API server, api_shim/job_log.py) and with log=0 (the same
answer without that read). The two are interleaved one request at a time, rotating which
goes first; after a warm-up, p50 and p99 of each, ratio with / without. On kwok's nodes
the API server's request for the log reaches no kubelet that serves one: what is timed is
that round trip, the cost the log adds on the shim's side.
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
    async with ctx.namespace("detail") as ns:
        jobs = JobsApi(ctx.api, ns)
        family = await jobs.make_family("detail-root")
        child = await ctx.shim.submit(family)
        await jobs.pod_ip(child)

        def timed(**params: str) -> Callable[[], Awaitable[float]]:
            async def call() -> float:
                start = time.perf_counter()
                answer = await ctx.shim.call("JobDetail", family, jobId=child, **params)
                took = time.perf_counter() - start
                assert answer.get("jobId") == child and ("log" in answer) == (params.get("log") != "0"), answer
                return took
            return call

        paths = [("with_log", timed()), ("without_log", timed(log="0"))]
        samples: dict[str, list[float]] = {name: [] for name, _ in paths}
        ctx.say(f"JobDetail: {sizes.latency_samples} calls with and without the log, interleaved")
        for i in range(sizes.latency_warmup + sizes.latency_samples):
            for name, fn in paths[i % 2:] + paths[:i % 2]:
                took = await fn()
                if i >= sizes.latency_warmup:
                    samples[name].append(took)
    with_log, without = summary_ms(samples["with_log"]), summary_ms(samples["without_log"])
    base = "the same JobDetail with log=0"
    figures = [
        Figure("detail_log.p50", "JobDetail latency p50 with the log", "ms", with_log["p50_ms"],
               without["p50_ms"], "info", None, base),
        Figure("detail_log.p99", "JobDetail latency p99 with the log", "ms", with_log["p99_ms"],
               without["p99_ms"], "info", None, base),
    ]
    return Measurement(figures, {"with_log": with_log, "without_log": without})
