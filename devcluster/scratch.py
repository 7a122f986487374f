"""Scratch namespaces for tests and benchmarks: made fresh, deleted afterwards.

It speaks kubernetes.aio, which nothing else in devcluster imports: starting a cluster
stays free of the client.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from kubernetes.aio import client
from kubernetes.aio.client.exceptions import ApiException

from devcluster.waiting import until


async def exists(read: Callable[[], Awaitable[Any]]) -> bool:
    """Whether the object `read` reads is there (404: no; any other error raised)."""
    try:
        await read()
    except ApiException as e:
        if e.status != 404:
            raise
        return False
    return True


@asynccontextmanager
async def scratch_namespace(api: client.ApiClient, prefix: str, labels: Mapping[str, str], *,
                            wait_deleted: float | None = None) -> AsyncIterator[str]:
    """A new namespace named `prefix` + a few random characters, once its `default`
    ServiceAccount is in place (pods are refused until the controller-manager has made
    it). Deleted on the way out; with wait_deleted, waited for (at most that many
    seconds) until it is gone with all it held, so what comes next starts on a quiet
    control plane."""
    core = client.CoreV1Api(api)
    made = await core.create_namespace(client.V1Namespace(
        metadata=client.V1ObjectMeta(generate_name=prefix, labels=dict(labels))))
    assert made.metadata is not None and made.metadata.name is not None
    name: str = made.metadata.name
    try:
        await until(f"ServiceAccount {name}/default",
                    lambda: exists(lambda: core.read_namespaced_service_account("default", name)),
                    timeout=60.0, interval=0.05, max_interval=0.05)
        yield name
    finally:
        try:
            await core.delete_namespace(name)
        except ApiException as e:
            if e.status != 404:
                raise
        if wait_deleted is not None:
            async def gone() -> bool:
                return not await exists(lambda: core.read_namespace(name))

            await until(f"namespace {name} to be deleted", gone, timeout=wait_deleted,
                        interval=0.5, max_interval=0.5)
