"""SubmitJob's idempotency key against the real shim and API server: calls with one key,
interleaved in any order, some cut off by their caller, some with other parameters, never
make more than the one job the key names."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.aio import client

from api_shim import idempotency
from tests.fuzz_http import fuzz_settings
from tests.integration.faults import JOB, UNLIMITED, family_jobs, report
from tests.integration.jobs import Jobs
from tests.integration.shim_fixture import make_root

pytestmark = pytest.mark.cluster

# (seconds before the call, seconds its caller waits for the answer or None, other parameters)
CALL = st.tuples(st.floats(0, 0.05), st.one_of(st.none(), st.floats(0.002, 0.05)), st.booleans())


def submit(url: str, token: str, key: str, other: bool, timeout: float | None) -> tuple[int, dict[str, Any]] | None:
    params = {**JOB, **({"cmd": "sleep 7200"} if other else {})}
    try:
        resp = requests.get(f"{url}/child/SubmitJob", params=params, timeout=timeout or 30,
                            headers={"Authorization": f"Bearer {token}", idempotency.HEADER: key})
    except requests.RequestException:
        return None  # cut off by the caller: what happened is for the retry to find out
    return resp.status_code, resp.json()


async def test_interleaved_retries_with_one_key_make_one_job(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any) -> None:
    shim = extra_shim(*UNLIMITED)
    root = await make_root(api, namespace)
    jobs = Jobs(api, namespace)
    loop = asyncio.get_running_loop()
    stats = {"keys": 0, "calls": 0, "cut_off": 0, "replayed_or_made": 0, "conflicts": 0, "jobs_made": 0}

    def family_names() -> set[str]:
        listed = asyncio.run_coroutine_threadsafe(family_jobs(jobs, root.digest), loop).result(timeout=30)
        return {j["metadata"]["name"] for j in listed}

    def cmd_of(name: str) -> str | None:
        obj = asyncio.run_coroutine_threadsafe(jobs.get(name), loop).result(timeout=30)
        return (obj.get("spec") or {}).get("cmd") if obj else None

    @fuzz_settings(examples=12, long_examples=200)
    @given(st.lists(CALL, min_size=2, max_size=6))
    def one(calls: list[tuple[float, float | None, bool]]) -> None:
        key = f"prop-{uuid.uuid4()}"
        name = idempotency.job_name(root.digest, key)
        before = family_names()
        answers: list[tuple[int, dict[str, Any]] | None] = [None] * len(calls)

        def run(i: int, delay: float, timeout: float | None, other: bool) -> None:
            time.sleep(delay)
            answers[i] = submit(shim.url, root.token, key, other, timeout)

        threads = [threading.Thread(target=run, args=(i, *c)) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for answer in answers:
            if answer is None:
                stats["cut_off"] += 1
                continue
            status, body = answer
            assert status in (200, 422), answer
            if status == 200:
                assert body.get("jobId") == name, answer
                stats["replayed_or_made"] += 1
            else:
                stats["conflicts"] += 1
        # The caller's last retry, with the parameters of the job the key made (if any).
        made_cmd = cmd_of(name)
        final = submit(shim.url, root.token, key, made_cmd == "sleep 7200", None)
        assert final is not None and final[0] == 200 and final[1].get("jobId") == name, final
        # Calls cut off may still be running in the shim, but no waiting for them is needed:
        # the key names the one job any of them can make or replay, so no other can appear.
        assert family_names() - before == {name}
        stats["keys"] += 1
        stats["calls"] += len(calls) + 1
        stats["jobs_made"] += 1

    await asyncio.to_thread(one)
    report("idempotency key: interleaved retries, real shim and API server", **stats)
