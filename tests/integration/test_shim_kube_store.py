"""The Kubernetes side of the shim, in process, against a real API server (no operator):
the watch-fed index and the three calls of KubeJobStore."""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from kubernetes.aio import client

from api_shim.index_watch import index_watcher
from api_shim.job_index import JobIndex
from api_shim.kube_store import KubeJobStore
from api_shim.records import record_from_object
from api_shim.store import Deleted, Rejected, Unavailable
from dlws_contract import resource
from dlws_contract.kube_api import Kube
from tests.integration.jobs import SPEC, Jobs, eventually

pytestmark = pytest.mark.cluster


class WatchedStore(KubeJobStore):
    """The store with the index the app keeps beside it, as the shim runs them."""

    def __init__(self, kube: Kube, index: JobIndex) -> None:
        super().__init__(kube)
        self.index = index


@pytest_asyncio.fixture(loop_scope="session")
async def store(api: client.ApiClient) -> AsyncIterator[WatchedStore]:
    index = JobIndex()
    watcher = index_watcher(api, index, namespace=None, request_timeout=10.0)
    task = asyncio.create_task(watcher.run())
    try:
        await eventually(lambda: _synced(index), timeout=30, what="index synced")
        yield WatchedStore(Kube(api, 10.0), index)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _synced(index: JobIndex) -> bool:
    return index.synced


def body(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
            "metadata": {"name": name, "namespace": namespace, "labels": {resource.LABEL_FAMILY: "f"}},
            "spec": {**SPEC, **spec}}


async def test_the_index_follows_creates_changes_and_deletes(store: WatchedStore, namespace: str,
                                                             api: client.ApiClient) -> None:
    name = str(uuid.uuid4())
    made = await store.create(namespace, body(namespace, name))
    record = await eventually(lambda: _indexed(store, namespace, name), timeout=10, what="indexed")
    # (Its labels are not checked: an operator running in the same session may make it a
    # family root and relabel it.)
    assert record.uid == made["metadata"]["uid"]

    custom = client.CustomObjectsApi(api)
    changed = asyncio.ensure_future(store.index.wait_for_change(namespace, name, 10.0))
    await asyncio.sleep(0)
    await custom.patch_namespaced_custom_object_status(
        resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name,
        {"status": {"phase": "Running", "podIP": "10.1.1.1"}})
    assert await changed is True

    async def in_step() -> bool:
        # Whoever wrote last (this test, or an operator running in the same session),
        # the index shows what the API server has.
        current = await store.read(namespace, name)
        return current is not None and store.index.get(namespace, name) == record_from_object(current)
    await eventually(in_step, timeout=10, what="index in step with the API server")

    assert await store.delete(namespace, name, made["metadata"]["uid"]) is Deleted.ACCEPTED
    await eventually(lambda: _gone(store, namespace, name), timeout=30, what="removed from the index")


async def test_read_of_a_missing_job_is_none(store: WatchedStore, namespace: str) -> None:
    assert await store.read(namespace, "no-such-job") is None


async def test_delete_with_another_uid_or_of_a_missing_job_is_gone(store: WatchedStore, namespace: str) -> None:
    name = str(uuid.uuid4())
    await store.create(namespace, body(namespace, name))
    assert await store.delete(namespace, name, str(uuid.uuid4())) is Deleted.GONE
    assert await store.read(namespace, name) is not None
    assert await store.delete(namespace, "no-such-job", str(uuid.uuid4())) is Deleted.GONE


async def test_an_object_the_crd_refuses_is_rejected_with_the_servers_reason(
        store: WatchedStore, namespace: str) -> None:
    with pytest.raises(Rejected) as e:
        await store.create(namespace, body(namespace, str(uuid.uuid4()), resourcegpu=1000))
    assert "resourcegpu" in str(e.value)
    assert await Jobs(store.kube.api, namespace).list_jobs() == []


async def test_an_unreachable_api_server_is_unavailable(store: WatchedStore, namespace: str) -> None:
    configuration = client.Configuration(host="https://127.0.0.1:1")
    async with client.ApiClient(configuration) as dead:
        down = KubeJobStore(Kube(dead, 2.0))
        with pytest.raises(Unavailable):
            await down.read(namespace, "x")
        with pytest.raises(Unavailable):
            await down.create(namespace, body(namespace, str(uuid.uuid4())))
        with pytest.raises(Unavailable):
            await down.delete(namespace, "x", "uid")


async def _indexed(store: WatchedStore, namespace: str, name: str) -> Any:
    return store.index.get(namespace, name)


async def _gone(store: WatchedStore, namespace: str, name: str) -> bool:
    return store.index.get(namespace, name) is None
