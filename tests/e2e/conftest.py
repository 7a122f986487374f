"""The real-node tier: the operator and the shim run against a cluster with one real node,
the shim listening where pods reach this machine (the node's bridge address), so every
/child call in these tests is made by a process inside a job's container."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from kubernetes.aio import client

from tests.conftest import ClusterAccess, fresh_namespace
from tests.integration.identities import Identities, make_identities
from tests.integration.operator_fixture import operator_process
from tests.integration.processes import ManagedProcess
from tests.integration.shim_fixture import free_port, shim_process


@pytest.fixture(scope="session")
def real_identities(real_cluster: ClusterAccess, tmp_path_factory: pytest.TempPathFactory) -> Identities:
    return make_identities(real_cluster, tmp_path_factory.mktemp("real-identities"))


@pytest.fixture(scope="session")
def real_shim(real_cluster: ClusterAccess, real_identities: Identities,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    proc = shim_process(real_identities.shim_kubeconfig, free_port(),
                        tmp_path_factory.mktemp("real-shim") / "shim.log", host=real_cluster.host_address)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def real_operator(real_identities: Identities, real_shim: Any,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    proc = operator_process(real_identities, real_shim.url,
                            tmp_path_factory.mktemp("real-operator") / "operator.log")
    proc.start()
    yield proc
    proc.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def real_namespace(real_api: client.ApiClient) -> AsyncIterator[str]:
    async for name in fresh_namespace(real_api, "e2e-"):
        yield name
