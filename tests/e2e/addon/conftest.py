"""The add-on installed as users install it: a cluster with a real node and Services for
pods (kube-proxy, CoreDNS), the project's image built by `make image`, imported into the
node, and `kubectl apply -k manifests/overlays/local`. The operator and the shim run as
Pods under their own ServiceAccounts; every /child call here is made by a process inside a
job's container, through the shim's Service.

The cluster lives for this package only (a second real node beside the session's);
DLWS_TEST_ADDON_KUBECONFIG reuses one that `make dev IN_CLUSTER=1` runs, on purpose."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from kubernetes.aio import client

from devcluster import addon as addon_install
from devcluster.binaries import JOB_IMAGE
from devcluster.scratch import scratch_namespace
from tests.conftest import TEST_LABELS, ClusterAccess, admin_client, real_node_clusters
from tests.integration.jobs import Jobs
from tests.integration.shim_fixture import Root, make_root

REUSE_ADDON_ENV = "DLWS_TEST_ADDON_KUBECONFIG"


@dataclass(frozen=True)
class Addon:
    cluster: ClusterAccess
    installed: addon_install.Installed | None  # None: a reused cluster, installed before


@pytest.fixture(scope="package")
def addon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Addon]:
    clusters = real_node_clusters(tmp_path_factory, REUSE_ADDON_ENV, in_cluster=True)
    cluster = next(clusters)
    try:
        installed = None
        if cluster.local is not None:
            info = cluster.local.info()
            assert info is not None and info.in_cluster
            installed = addon_install.install(info, lambda m: print(f"addon: {m}"))
        yield Addon(cluster, installed)
    finally:
        clusters.close()


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def addon_api(addon: Addon) -> AsyncIterator[client.ApiClient]:
    async for api_client in admin_client(addon.cluster):
        yield api_client


@pytest_asyncio.fixture(loop_scope="session")
async def addon_namespace(addon_api: client.ApiClient) -> AsyncIterator[str]:
    async with scratch_namespace(addon_api, "addon-", TEST_LABELS) as name:
        yield name


async def shell_root(api: client.ApiClient, namespace: str, **spec: Any) -> Root:
    """A family root whose container only waits, for tests to run Python in it; returned
    once its container runs (kubectl exec finds no container before that)."""
    root = await make_root(api, namespace, timeout=120.0, image=JOB_IMAGE.ref, cmd="sleep infinity",
                           userName="alice", userId=1000, **spec)
    await Jobs(api, namespace).running_with_ip(root.name, timeout=120.0)
    return root
