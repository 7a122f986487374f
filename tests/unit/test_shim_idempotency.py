"""SubmitJob's idempotency key, through the HTTP layer on the in-memory store.

tests/integration/test_idempotency.py runs the same property against a real API server.
"""
import asyncio
import json
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_shim import idempotency
from api_shim.app import init_app
from api_shim.settings import Settings
from api_shim.store import Unavailable
from dlws_contract import tokens
from tests.memory_store import MemoryJobStore
from tests.unit.test_shim_http import (  # noqa: F401  (fixtures)
    JOB, NS, OTHER_TOKEN, TOKEN, Client, MakeClient, children, client, make_client,
    quick_index_catch_up, store, submit,
)

KEY = "7d0c1f0e-step-1"


async def keyed(client: Client, key: str = KEY, **extra: Any) -> tuple[int, dict[str, Any], bool]:
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN, **extra},
                            headers={idempotency.HEADER: key})
    return resp.status, await resp.json(), resp.headers.get(idempotency.REPLAYED_HEADER) == "true"


def test_the_job_id_is_the_family_and_the_key() -> None:
    digest = tokens.family_digest(TOKEN)
    assert idempotency.job_name(digest, KEY) == idempotency.job_name(digest, KEY)
    assert idempotency.job_name(digest, KEY) != idempotency.job_name(digest, KEY + "x")
    assert idempotency.job_name(digest, KEY) != idempotency.job_name(tokens.family_digest(OTHER_TOKEN), KEY)


async def test_a_repeated_key_gets_the_same_job_and_makes_none(client: Client, store: MemoryJobStore) -> None:
    status, first, replayed = await keyed(client)
    assert status == 200 and not replayed
    assert first["jobId"] == idempotency.job_name(tokens.family_digest(TOKEN), KEY)
    store.calls.clear()
    status, again, replayed = await keyed(client)
    assert (status, again, replayed) == (200, first, True)
    assert not any(c.startswith("create") for c in store.calls)
    assert len(children(store)) == 1


async def test_the_key_may_come_as_a_parameter_in_the_query_or_a_json_body(
        client: Client, store: MemoryJobStore) -> None:
    by_header = (await keyed(client))[1]["jobId"]
    by_query = await submit(client, idempotencyKey=KEY)
    resp = await client.post("/child/SubmitJob", json={**JOB, "familyToken": TOKEN, "idempotencyKey": KEY,
                                                       "resourcegpu": 0})
    assert by_query["jobId"] == by_header == (await resp.json())["jobId"]
    assert len(children(store)) == 1


@pytest.mark.parametrize("key,where", [
    ("has space", "header"), ("x" * 256, "header"), ("", "query"), ("é", "query"),
])
async def test_a_malformed_key_is_400_and_creates_nothing(
        client: Client, store: MemoryJobStore, key: str, where: str) -> None:
    params = {**JOB, "familyToken": TOKEN, **({"idempotencyKey": key} if where == "query" else {})}
    headers = {idempotency.HEADER: key} if where == "header" else {}
    resp = await client.get("/child/SubmitJob", params=params, headers=headers)
    body = await resp.json()
    assert resp.status == 400 and "idempotency key" in body["error"]
    assert key not in body["error"] or not key.strip()
    assert children(store) == []


async def test_header_and_parameter_that_disagree_are_400(client: Client, store: MemoryJobStore) -> None:
    status, body, _ = await keyed(client, idempotencyKey="other")
    assert status == 400 and "disagree" in body["error"] and children(store) == []


async def test_the_same_key_with_other_parameters_is_422_and_keeps_the_first_job(
        client: Client, store: MemoryJobStore) -> None:
    first = (await keyed(client))[1]["jobId"]
    status, body, _ = await keyed(client, cmd="something else")
    assert status == 422 and "other parameters" in body["error"]
    parent = (await keyed(client, key="parent-key"))[1]["jobId"]
    status, _, _ = await keyed(client, parentJobId=parent)
    assert status == 422
    assert {c["metadata"]["name"] for c in children(store)} == {first, parent}


async def test_values_that_parse_alike_are_the_same_parameters(client: Client) -> None:
    first = (await keyed(client))[1]["jobId"]  # resourcegpu "0" in the query
    resp = await client.post("/child/SubmitJob", json={**JOB, "resourcegpu": 0, "familyToken": TOKEN},
                             headers={idempotency.HEADER: KEY})
    assert resp.status == 200 and (await resp.json())["jobId"] == first


async def test_families_do_not_share_keys(client: Client, store: MemoryJobStore) -> None:
    mine = (await keyed(client))[1]["jobId"]
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": OTHER_TOKEN},
                            headers={idempotency.HEADER: KEY})
    assert (await resp.json())["jobId"] != mine
    assert len(children(store)) == 2


async def test_a_retry_after_an_unconfirmed_create_finds_the_job(
        client: Client, store: MemoryJobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first call made the job, then could not confirm it (its 503 is what a crash
    would leave the caller with): with a key, the job stays and the retry answers it."""
    real_read = store.read

    async def failing_read(namespace: str, name: str) -> Any:
        raise Unavailable("the Kubernetes API failed while reading a job; try again")
    monkeypatch.setattr(store, "read", failing_read)
    store.index_lag = True
    status, _, _ = await keyed(client)
    assert status == 503
    (made,) = children(store)
    assert "deletionTimestamp" not in made["metadata"]
    monkeypatch.setattr(store, "read", real_read)
    status, body, replayed = await keyed(client)
    assert (status, body["jobId"], replayed) == (200, made["metadata"]["name"], True)
    assert len(children(store)) == 1


async def test_concurrent_calls_with_one_key_make_one_job(client: Client, store: MemoryJobStore) -> None:
    answers = await asyncio.gather(*(keyed(client) for _ in range(8)))
    assert {a[1]["jobId"] for a in answers} == {idempotency.job_name(tokens.family_digest(TOKEN), KEY)}
    assert sum(1 for a in answers if not a[2]) >= 1
    assert len(children(store)) == 1


async def test_a_key_whose_job_is_being_killed_gets_the_kill_error(client: Client, store: MemoryJobStore) -> None:
    job_id = (await keyed(client))[1]["jobId"]
    store.mark_deleting(NS, job_id)
    status, body, _ = await keyed(client)
    assert status == 200 and "being killed" in body["error"] and "jobId" not in body


async def test_a_key_is_remembered_while_its_job_exists(client: Client, store: MemoryJobStore) -> None:
    job_id = (await keyed(client))[1]["jobId"]
    store.vanish(NS, job_id)
    status, body, replayed = await keyed(client)
    assert (status, body["jobId"], replayed) == (200, job_id, False)


async def test_the_key_is_written_nowhere(client: Client, store: MemoryJobStore,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret_key = "key-" + "q" * 40
    await keyed(client, key=secret_key)
    await keyed(client, key=secret_key)
    assert secret_key not in json.dumps(children(store))
    assert secret_key not in caplog.text


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(calls=st.lists(st.tuples(st.integers(0, 3),                      # ticks before the call
                                st.booleans(),                          # other parameters
                                st.sampled_from(["none", "create", "lag"])),  # API server fault
                      min_size=1, max_size=6))
async def test_any_interleaving_of_retries_with_one_key_makes_one_job(
        calls: list[tuple[int, bool, str]]) -> None:
    """Calls with one key, started in any order, some failing on their create, some while
    the watch lags: never two jobs, every jobId answered is the key's, and a last plain
    retry answers the one job."""
    store = MemoryJobStore()
    store.add_root(NS, "root-a", tokens.family_digest(TOKEN))
    app = await init_app(Settings(), store=store, index=store.index)
    key_name = idempotency.job_name(tokens.family_digest(TOKEN), KEY)
    async with TestClient(TestServer(app)) as fresh:

        async def one(ticks: int, other: bool, fault: str) -> tuple[int, dict[str, Any], bool]:
            for _ in range(ticks):
                await asyncio.sleep(0)
            if fault == "create":
                store.fail_next = Unavailable("the Kubernetes API failed while creating a job")
            store.index_lag = fault == "lag"
            return await keyed(fresh, **({"cmd": "other"} if other else {}))

        answers = await asyncio.gather(*(one(*c) for c in calls))
        store.index_lag, store.fail_next = False, None
        for status, body, _ in answers:
            assert status in (200, 422, 503), body
            assert body.get("jobId", key_name) == key_name
        made = children(store)
        assert len(made) <= 1
        other = bool(made) and made[0]["spec"].get("cmd") == "other"
        status, body, _ = await keyed(fresh, **({"cmd": "other"} if other else {}))
        assert status == 200 and body.get("jobId") == key_name, body
        assert [c["metadata"]["name"] for c in children(store)] == [key_name]
