"""SubmitJob's calling job, through the HTTP layer: the parent is the job whose Pod sent
the request. The app runs on the in-memory store with a PodIndex the test feeds; the
request's address comes through a trusted proxy's X-Forwarded-For, since the test client
itself calls from loopback. tests/e2e/test_calling_job_real.py makes the same calls from
real containers."""
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api_shim.app import init_app
from api_shim.pod_index import PodIndex
from api_shim.records import PodRecord
from api_shim.settings import Settings
from dlws_contract import resource, tokens
from tests.memory_store import MemoryJobStore
from tests.unit.test_shim_http import JOB, NS, OTHER_NS, OTHER_TOKEN, TOKEN

Client = TestClient  # type: ignore[type-arg]
CHILD_IP, OTHER_IP, HOST_IP = "10.88.0.5", "10.88.0.9", "10.88.0.1"


def job_pod(store: MemoryJobStore, namespace: str, job: str, ip: str | None, **fields: Any) -> PodRecord:
    obj = store.objects[(namespace, job)]
    return PodRecord(namespace=namespace, name=job, job=job, owner_uid=obj["metadata"]["uid"],
                     family=obj["metadata"]["labels"][resource.LABEL_FAMILY], ips=(ip,) if ip else (),
                     scheduled=True, terminal=False, host_network=False, deleting=False, **fields)


@pytest.fixture
def store() -> MemoryJobStore:
    s = MemoryJobStore()
    s.add_root(NS, "root-a", tokens.family_digest(TOKEN))
    s.add_root(OTHER_NS, "root-b", tokens.family_digest(OTHER_TOKEN))
    s.put({"metadata": {"name": "c1", "namespace": NS, "labels": {
        resource.LABEL_FAMILY: tokens.family_digest(TOKEN), resource.LABEL_PARENT: "root-a",
        resource.LABEL_ROOT: "root-a"}}, "spec": {"jobName": "c1"}, "status": {"phase": "Running"}})
    return s


@pytest.fixture
def pods(store: MemoryJobStore) -> PodIndex:
    index = PodIndex()
    index.replace_all([job_pod(store, NS, "c1", CHILD_IP), job_pod(store, OTHER_NS, "root-b", OTHER_IP)])
    return index


MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def make_client(aiohttp_client: Any, store: MemoryJobStore) -> MakeClient:
    """The shim on the store, with these Pods (PodRecords, or a PodIndex as it is) and settings
    (by default trusting loopback, the test client, as a proxy)."""
    async def make(pods: PodIndex | list[PodRecord] | None = None, **settings: Any) -> Client:
        if isinstance(pods, list):
            pods, records = PodIndex(), pods
            pods.replace_all(records)
        app = await init_app(Settings(**{"trusted_proxies": "127.0.0.1", **settings}), store=store,
                             index=store.index, pods=pods)
        c: Client = await aiohttp_client(app)
        return c
    return make


@pytest.fixture
async def client(make_client: MakeClient, pods: PodIndex) -> Client:
    return await make_client(pods)


async def submit_from(client: Client, address: str, **extra: Any) -> dict[str, Any]:
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN, **extra},
                            headers={"X-Forwarded-For": address})
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def parent_of(store: MemoryJobStore, job_id: str) -> str:
    return str(store.objects[(NS, job_id)]["metadata"]["labels"][resource.LABEL_PARENT])


async def counted(client: Client, attribution: str) -> float:
    for line in (await (await client.get("/metrics")).text()).splitlines():
        if line.startswith(f'dlws_shim_submit_callers_total{{attribution="{attribution}"}}'):
            return float(line.split()[-1])
    return 0.0


async def test_a_job_s_submission_nests_under_the_job_whose_pod_sent_it(client: Client, store: MemoryJobStore) -> None:
    made = await submit_from(client, CHILD_IP)
    assert parent_of(store, made["jobId"]) == "c1"
    assert await counted(client, "matched") == 1


async def test_a_named_parent_wins_over_the_calling_job(client: Client, store: MemoryJobStore) -> None:
    made = await submit_from(client, CHILD_IP, parentJobId="root-a")
    assert parent_of(store, made["jobId"]) == "root-a"
    assert await counted(client, "parent_given") == 1


async def test_an_address_of_no_job_pod_nests_under_the_root(client: Client, store: MemoryJobStore) -> None:
    made = await submit_from(client, HOST_IP)
    assert parent_of(store, made["jobId"]) == "root-a"
    assert await counted(client, "no_pod") == 1


async def test_a_pod_of_another_family_holding_this_token_nests_under_this_root(
        client: Client, store: MemoryJobStore) -> None:
    made = await submit_from(client, OTHER_IP)
    assert parent_of(store, made["jobId"]) == "root-a"
    assert await counted(client, "other_family") == 1


async def test_an_untrusted_forwarded_for_header_is_ignored(make_client: MakeClient, store: MemoryJobStore,
                                                            pods: PodIndex) -> None:
    c = await make_client(pods, trusted_proxies="")
    made = await submit_from(c, CHILD_IP)  # from loopback, which no proxy setting names
    assert parent_of(store, made["jobId"]) == "root-a"


async def test_with_the_lookup_off_every_submission_nests_under_the_root(make_client: MakeClient,
                                                                         store: MemoryJobStore) -> None:
    c = await make_client(caller_lookup=False)
    made = await submit_from(c, CHILD_IP)
    assert parent_of(store, made["jobId"]) == "root-a"
    assert await counted(c, "lookup_off") == 1


async def test_a_calling_job_being_killed_gets_the_kill_refusal(client: Client, store: MemoryJobStore) -> None:
    store.mark_deleting(NS, "c1")
    body = await submit_from(client, CHILD_IP)
    assert body == {"error": "job c1 is being killed (itself or a job above it): it cannot get new children"}
    assert len(store.objects) == 3


async def test_a_pod_whose_job_is_gone_gets_the_kill_refusal_not_the_root(
        client: Client, store: MemoryJobStore, pods: PodIndex) -> None:
    pods.upsert(replace(pods.at(CHILD_IP)[0], deleting=True))
    store.vanish(NS, "c1")
    body = await submit_from(client, CHILD_IP)
    assert "job c1 is being killed" in body["error"]
    assert await counted(client, "dying") == 1 and len(store.objects) == 2


async def test_a_job_s_first_request_waits_for_its_pod_s_address(client: Client, store: MemoryJobStore,
                                                                   pods: PodIndex) -> None:
    starting = job_pod(store, NS, "c1", None)
    pods.replace_all([starting])
    call = asyncio.create_task(submit_from(client, CHILD_IP))
    while not pods.waiting:  # the request is waiting for the Pod watch
        await asyncio.sleep(0.01)
    pods.upsert(replace(starting, ips=(CHILD_IP,)))
    assert parent_of(store, (await call)["jobId"]) == "c1"


async def test_a_pod_that_never_gets_its_address_leaves_the_root_after_the_wait(
        make_client: MakeClient, store: MemoryJobStore) -> None:
    c = await make_client([job_pod(store, NS, "c1", None)], caller_wait=0.2)
    made = await submit_from(c, CHILD_IP)
    assert parent_of(store, made["jobId"]) == "root-a"
    assert await counted(c, "no_pod") == 1


async def test_no_wait_without_a_starting_pod_of_the_caller_s_family(
        make_client: MakeClient, store: MemoryJobStore) -> None:
    c = await make_client([job_pod(store, OTHER_NS, "root-b", None)], caller_wait=600)
    made = await asyncio.wait_for(submit_from(c, CHILD_IP), 30)
    assert parent_of(store, made["jobId"]) == "root-a"


async def test_not_ready_until_the_pods_are_listed(make_client: MakeClient) -> None:
    c = await make_client(PodIndex())
    assert (await c.get("/readyz")).status == 503
    resp = await c.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})
    assert resp.status == 503 and "Pods" in (await resp.json())["error"]
