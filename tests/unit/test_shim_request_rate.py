"""Every operation counts against its family's request rate, so one family's flood of
JobDetail calls (each a read of the API server) is refused cheaply and slows no other."""
from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api_shim.app import init_app
from api_shim.limits import FamilyLimits, LimitExceeded
from api_shim.settings import Settings
from dlws_contract import tokens
from tests.memory_store import MemoryJobStore

TOKEN, OTHER = tokens.new_token(), tokens.new_token()


def test_requests_are_limited_per_family() -> None:
    limits = FamilyLimits(max_live_jobs=10, max_depth=2, rate=1.0, burst=1, request_rate=2.0, request_burst=3)
    for _ in range(3):
        limits.take_request("a", 0.0)
    with pytest.raises(LimitExceeded) as refused:
        limits.take_request("a", 0.0)
    assert refused.value.limit == "requests" and refused.value.retry_after == pytest.approx(0.5)
    limits.take_request("b", 0.0)  # another family: its own bucket
    limits.take_request("a", 0.5)  # refilled at 2 per second


@pytest.fixture
async def client(aiohttp_client: Any) -> TestClient:  # type: ignore[type-arg]
    store = MemoryJobStore()
    store.add_root("team", "root-a", tokens.family_digest(TOKEN))
    store.add_root("team", "root-b", tokens.family_digest(OTHER))
    app = await init_app(Settings(request_rate=0.001, request_burst=5), store=store, index=store.index)
    made: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    return made


async def test_a_flooding_family_gets_429_and_another_family_does_not(client: TestClient) -> None:  # type: ignore[type-arg]
    statuses = []
    for _ in range(8):
        resp = await client.get("/child/JobDetail", params={"familyToken": TOKEN, "jobId": "root-a"})
        statuses.append(resp.status)
    assert statuses == [200] * 5 + [429] * 3
    body = await resp.json()
    assert "too many requests" in body["error"] and int(resp.headers["Retry-After"]) >= 1
    resp = await client.get("/child/JobDetail", params={"familyToken": OTHER, "jobId": "root-b"})
    assert resp.status == 200 and (await resp.json())["jobId"] == "root-b"


async def test_requests_without_a_valid_token_take_no_familys_budget(client: TestClient) -> None:  # type: ignore[type-arg]
    for _ in range(10):
        resp = await client.get("/child/JobDetail", params={"familyToken": tokens.new_token(), "jobId": "root-a"})
        assert resp.status == 403
    resp = await client.get("/child/JobDetail", params={"familyToken": TOKEN, "jobId": "root-a"})
    assert resp.status == 200
