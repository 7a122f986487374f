"""Property-based fuzzing of every endpoint and parameter against the real shim process and
API server (tests/fuzz_http.py says what is drawn and what must hold): no 5xx, no
traceback, no token in an answer, and the cluster changes exactly as the answers say."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from kubernetes.aio import client

from tests.fuzz_http import Call, Tokens, calls, check_answer, family_of, fuzz_settings, send
from tests.integration.faults import UNLIMITED, report
from tests.integration.jobs import Jobs
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster


async def test_fuzzed_requests_against_the_real_shim_change_only_what_they_say(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any, http: Any) -> None:
    shim = extra_shim(*UNLIMITED, "--max-ip-wait", "0.2")
    ours, other = await make_root(api, namespace), await make_root(api, namespace)
    shim_client = ShimClient(http, shim.url)
    children = {"good": str((await shim_client.submit(ours.token))["jobId"]),
                "other": str((await shim_client.submit(other.token))["jobId"])}
    tokens = Tokens(good=ours.token, other=other.token)
    jobs = Jobs(api, namespace)
    loop = asyncio.get_running_loop()
    stats = {"requests": 0, "accepted_submissions": 0, "kills": 0}

    def snapshot() -> dict[str, tuple[str | None, bool]]:
        """name -> (family root, being deleted), read through the session's API client."""
        listed = asyncio.run_coroutine_threadsafe(jobs.list_jobs(), loop).result(timeout=30)
        return {j["metadata"]["name"]: ((j["metadata"].get("labels") or {}).get("dlworkspace.io/root"),
                                        bool(j["metadata"].get("deletionTimestamp"))) for j in listed}

    # The roots are left out of the ids drawn, so the families live through the run.
    @fuzz_settings(examples=60, long_examples=2_000)
    @given(calls(tuple(children.values())))
    def one(call: Call) -> None:
        before = snapshot()
        resp = send(shim.url, call, tokens)
        stats["requests"] += 1
        body = check_answer(call, resp, tokens)
        after = snapshot()
        made = set(after) - set(before)
        killed = {name for name, (_, deleting) in after.items() if deleting and not before.get(name, ("", False))[1]}
        family = family_of(call)
        if family is None:
            assert resp.status_code != 200 and not made and not killed, (call, resp.status_code, body)
            return
        root = ours.name if family == "good" else other.name
        if call.op == "SubmitJob" and "jobId" in body:
            assert made == {body["jobId"]} and after[body["jobId"]][0] == root
            stats["accepted_submissions"] += 1
        else:
            assert not made, (call, body)
        if body.get("result", "").startswith("Success"):
            assert killed <= {str(call.params.get("jobId"))} and before[str(call.params["jobId"])][0] == root
            stats["kills"] += 1
        else:
            assert not killed, (call, body)

    await asyncio.to_thread(one)
    report("property-based fuzz, real shim and API server", **stats, server_errors=0, tracebacks=0)
