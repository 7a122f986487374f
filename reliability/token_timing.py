"""How long the shim takes to check a valid token and invalid ones.

The check is: well-formed? then sha256, one dict lookup by digest, and
hmac.compare_digest of digests. Measured two ways: the function itself (authenticate on
an index of 10,000 families), and JobDetail over HTTP (valid vs invalid token,
interleaved). Prints medians and p99s; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable

import aiohttp

from api_shim.errors import Forbidden
from api_shim.families import Family as ShimFamily
from api_shim.job_index import JobIndex
from api_shim.records import JobRecord
from dlws_contract import tokens
from reliability.server import Family, shim_process
from tests.memory_store import MemoryJobStore


def index_of(families: list[str]) -> JobIndex:
    index = JobIndex()
    for i, token in enumerate(families):
        digest = tokens.family_digest(token)
        index.upsert(JobRecord(namespace="team", name=f"root-{i}", uid=str(i), family=digest, parent=None,
                               family_digest=digest, deleting=False, phase="Running",
                               pod_ip=None, user_name="u", user_id=1000))
    index.synced = True
    return index


def ns_per_call(fn: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(100):
            fn()
        samples.append((time.perf_counter_ns() - t0) / 100)
    return samples


def in_process(rounds: int) -> dict[str, dict[str, float]]:
    family_tokens = [tokens.new_token() for _ in range(10_000)]
    index = index_of(family_tokens)
    valid = family_tokens[1234]
    cases = {
        "valid": valid,
        "another family's valid token": family_tokens[42],
        "invalid: last character changed": valid[:-1] + ("0" if valid[-1] != "0" else "1"),
        "invalid: first character changed": ("0" if valid[0] != "0" else "1") + valid[1:],
        "invalid: random": tokens.new_token(),
        "invalid: malformed (refused before hashing)": "not a token!",
    }

    store = MemoryJobStore()  # never called: authentication reads the index only

    def check(token: str) -> Callable[[], object]:
        def run() -> object:
            try:
                return ShimFamily.authenticate(token, index, store)
            except Forbidden:
                return None
        return run

    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(5):  # interleaved, so drift hits every case alike
        for name, token in cases.items():
            results[name] += ns_per_call(check(token), rounds // 5)
    return {name: {"median_ns": round(statistics.median(s), 1),
                   "p99_ns": round(sorted(s)[int(0.99 * len(s))], 1)} for name, s in results.items()}


async def over_http(requests: int) -> dict[str, dict[str, float]]:
    good, other = Family("root-a", tokens.new_token()), Family("root-b", tokens.new_token())
    cases = {"valid": good.token, "invalid: last character changed": good.token[:-1] +
             ("0" if good.token[-1] != "0" else "1"), "invalid: random": tokens.new_token()}
    times: dict[str, list[float]] = {name: [] for name in cases}
    with shim_process([good, other]) as url:
        async with aiohttp.ClientSession() as session:
            for i in range(requests * len(cases)):
                name = list(cases)[i % len(cases)]
                t0 = time.perf_counter()
                async with session.get(f"{url}child/JobDetail",
                                       params={"familyToken": cases[name], "jobId": "root-a-1"}) as resp:
                    await resp.read()
                times[name].append((time.perf_counter() - t0) * 1e6)
    return {name: {"median_us": round(statistics.median(s), 1), "p99_us": round(sorted(s)[int(0.99 * len(s))], 1)}
            for name, s in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000, help="rounds of 100 calls per case")
    parser.add_argument("--requests", type=int, default=2000, help="HTTP requests per case")
    args = parser.parse_args()
    print(json.dumps({"authenticate() in process, 10,000 families": in_process(args.rounds),
                      "JobDetail over HTTP (shim on the in-memory store)": asyncio.run(over_http(args.requests))},
                     indent=2))


if __name__ == "__main__":
    main()
