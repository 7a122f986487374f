"""Does one family flooding the shim slow another family down? Measured, not asserted.

By default a shim in a process of its own, on the in-memory store (so this measures the
shim itself, not an API server); with --url, a running shim (e.g. `make dev`'s) and two
families' tokens and jobs. It serves a quiet family that calls JobDetail, GetJobIP and
SubmitJob (200, or 429 past its own limits), 20 calls a second, first alone, then while
a flooding family keeps `--flood` requests in flight (SubmitJob and JobDetail, answered
429 once past the family's limits). Prints the quiet family's latency percentiles in
both phases and the flood's request rate.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp

from dlws_contract import tokens
from reliability.server import Family, shim_process

JOB = {"jobName": "x", "resourcegpu": "0", "dataPath": "d", "image": "busybox", "jobType": "training"}


def percentiles(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {"p50_ms": round(s[len(s) // 2], 2), "p90_ms": round(s[int(0.9 * len(s))], 2),
            "p99_ms": round(s[int(0.99 * len(s))], 2), "max_ms": round(s[-1], 2), "n": len(s)}


QUIET_RATE = 20.0  # requests per second: a job polling its children, well within its limits


async def quiet_calls(session: aiohttp.ClientSession, url: str, family: Family, job: str,
                      count: int) -> list[float]:
    ops = [("JobDetail", {"jobId": job}), ("GetJobIP", {"jobId": job}), ("SubmitJob", JOB)]
    ms = []
    start = time.perf_counter()
    for i in range(count):
        op, params = ops[i % len(ops)]
        # Paced, not a wait for readiness: the i-th call starts at i / QUIET_RATE seconds.
        await asyncio.sleep(max(0.0, start + i / QUIET_RATE - time.perf_counter()))
        t0 = time.perf_counter()
        async with session.get(f"{url}child/{op}", params={**params, "familyToken": family.token}) as resp:
            await resp.read()
            assert resp.status == 200 or (op == "SubmitJob" and resp.status == 429), (op, resp.status)
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


async def flood(session: aiohttp.ClientSession, url: str, family: Family, job: str, stop: asyncio.Event,
                counts: dict[int, int]) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        op, params = ("SubmitJob", JOB) if i % 2 else ("JobDetail", {"jobId": job})
        async with session.get(f"{url}child/{op}", params={**params, "familyToken": family.token}) as resp:
            await resp.read()
            counts[resp.status] = counts.get(resp.status, 0) + 1


async def measure(url: str, quiet: Family, quiet_job: str, noisy: Family, noisy_job: str,
                  concurrency: int, count: int) -> dict[str, object]:
    async with aiohttp.ClientSession() as quiet_session, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as noisy_session:
        await quiet_calls(quiet_session, url, quiet, quiet_job, 30)  # warm-up
        alone = await quiet_calls(quiet_session, url, quiet, quiet_job, count)
        stop, counts = asyncio.Event(), {}  # type: ignore[var-annotated]
        flooders = [asyncio.create_task(flood(noisy_session, url, noisy, noisy_job, stop, counts))
                    for _ in range(concurrency)]
        await asyncio.sleep(1.0)  # let the flood reach its pace
        before = sum(counts.values())
        t0 = time.perf_counter()
        under_flood = await quiet_calls(quiet_session, url, quiet, quiet_job, count)
        seconds = time.perf_counter() - t0
        flood_requests = sum(counts.values()) - before
        stop.set()
        await asyncio.gather(*flooders)
    return {"quiet family alone": percentiles(alone), "quiet family during the flood": percentiles(under_flood),
            "flood": {"in_flight": concurrency, "requests_per_second": round(flood_requests / seconds),
                      "statuses": counts}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flood", type=int, default=64, help="requests the flooding family keeps in flight")
    parser.add_argument("--count", type=int, default=300, help="quiet family's requests per phase "
                        f"(made {QUIET_RATE:g} per second)")
    parser.add_argument("--url", help="a running shim; then also the four options below")
    parser.add_argument("--quiet-token")
    parser.add_argument("--quiet-job", help="a job of the quiet family (with a pod IP)")
    parser.add_argument("--noisy-token")
    parser.add_argument("--noisy-job", help="a job of the flooding family")
    args = parser.parse_args()
    if args.url:
        quiet, noisy = Family("", args.quiet_token), Family("", args.noisy_token)
        result = asyncio.run(measure(args.url.rstrip("/") + "/", quiet, args.quiet_job, noisy, args.noisy_job,
                                     args.flood, args.count))
    else:
        quiet, noisy = Family("quiet", tokens.new_token()), Family("noisy", tokens.new_token())
        with shim_process([quiet, noisy], max_live_jobs=1_000_000) as url:
            result = asyncio.run(measure(url, quiet, "quiet-1", noisy, "noisy-1", args.flood, args.count))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
