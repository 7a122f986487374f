"""Property-based fuzzing of every endpoint and parameter of the shim's HTTP app, on the
in-memory store (tests/fuzz_http.py says what is drawn and what must hold)."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import BaseTestServer, TestServer
from hypothesis import given

from api_shim.app import init_app
from api_shim.settings import Settings
from dlws_contract import tokens
from tests.fuzz_http import Call, Tokens, calls, check_answer, family_of, fuzz_settings, send
from tests.memory_store import MemoryJobStore

TOKENS = Tokens(good=tokens.new_token(), other=tokens.new_token())
NS = "team-a"
NAMESPACES = {"good": NS, "other": "team-b"}
IDS = ("root-a", "root-b", "child-a", "child-b")


@pytest.fixture
def store() -> MemoryJobStore:
    s = MemoryJobStore()
    root_a = s.add_root(NS, "root-a", tokens.family_digest(TOKENS.good))
    root_b = s.add_root(NAMESPACES["other"], "root-b", tokens.family_digest(TOKENS.other))
    for name, root in (("child-a", root_a), ("child-b", root_b)):
        meta = root["metadata"]
        s.put({"apiVersion": root["apiVersion"], "kind": root["kind"],
               "metadata": {"name": name, "namespace": meta["namespace"],
                            "labels": {**meta["labels"], "dlworkspace.io/parent": meta["name"]}},
               "spec": root["spec"], "status": {"phase": "Running", "podIP": "10.0.0.1"}})
    return s


@pytest.fixture
async def server(store: MemoryJobStore) -> AsyncIterator[BaseTestServer]:
    # Limits out of the way, so deeper code runs; GetJobIP waits at most 0.1 s.
    settings = Settings(max_live_jobs=1_000_000, submit_rate=1e6, submit_burst=1_000_000, max_ip_wait=0.1)
    async with TestServer(await init_app(settings, store=store, index=store.index)) as srv:
        yield srv


def snapshot(store: MemoryJobStore) -> dict[tuple[str, str], bool]:
    """Every object, and whether it is being deleted."""
    return {key: bool(obj["metadata"].get("deletionTimestamp")) for key, obj in store.objects.items()}


async def test_fuzzed_requests_get_declared_json_answers_and_change_only_what_they_say(
        server: BaseTestServer, store: MemoryJobStore) -> None:
    base = str(server.make_url("/"))

    @fuzz_settings(examples=300, long_examples=20_000)
    @given(calls(IDS))
    def one(call: Call) -> None:
        before = snapshot(store)
        resp = send(base, call, TOKENS)
        body = check_answer(call, resp, TOKENS)
        after = snapshot(store)
        made = set(after) - set(before)
        killed = {k for k, deleting in after.items() if deleting and not before.get(k)}
        family = family_of(call)
        if family is None:  # no valid token: refused, and nothing changes
            assert resp.status_code != 200 and not made and not killed, (call, resp.status_code, body)
            return
        ns = NAMESPACES[family]
        if "jobId" in body and call.op == "SubmitJob":
            assert made == {(ns, body["jobId"])}
        else:
            assert not made, (call, body)
        killed_ok = body.get("result", "").startswith("Success")
        assert killed <= ({(ns, str(call.params.get("jobId")))} if killed_ok else set()), (call, body)

    # Synchronous HTTP from a worker thread; the server runs on this test's event loop.
    await asyncio.to_thread(one)
