"""The real-node tier: the operator and the shim run against a cluster with one real node,
the shim listening where pods reach this machine (the node's bridge address), so every
/child call in these tests is made by a process inside a job's container."""
from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from kubernetes.aio import client

from devcluster.commands import operator_command, shim_command
from devcluster.layout import Layout
from devcluster.managed import ManagedProcess
from devcluster.scratch import scratch_namespace
from tests.conftest import TEST_LABELS, ClusterAccess
from tests.integration.identities import Identities, make_identities


@pytest.fixture(scope="session")
def real_identities(real_cluster: ClusterAccess, tmp_path_factory: pytest.TempPathFactory) -> Identities:
    return make_identities(real_cluster, tmp_path_factory.mktemp("real-identities"))


@pytest.fixture(scope="session")
def real_shim(real_cluster: ClusterAccess, real_identities: Identities,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    # Reads finished jobs' logs from their storage, the operator's (below), as `make dev`'s.
    storage = Layout.at(real_cluster.kubeconfig.parent).job_storage_dir
    proc = ManagedProcess(shim_command(real_identities.shim_kubeconfig, host=real_cluster.host_address,
                                       flags=("--job-storage", str(storage))),
                          log_dir=tmp_path_factory.mktemp("real-shim"))
    proc.start()
    yield proc
    # What the shim counted (e.g. SubmitJob's calling jobs, matched or not), kept beside its log.
    with contextlib.suppress(OSError):
        with urllib.request.urlopen(proc.metrics_url, timeout=10) as reply:
            proc.log_path.with_name("metrics-at-stop.txt").write_bytes(reply.read())
    proc.stop()


@pytest.fixture(scope="session")
def real_operator(real_cluster: ClusterAccess, real_identities: Identities, real_shim: ManagedProcess,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    # As `make dev` runs it: the jobs' storage a directory of the cluster's state.
    storage = Layout.at(real_cluster.kubeconfig.parent).job_storage_dir
    proc = ManagedProcess(operator_command(real_identities.operator_kubeconfig, real_shim.url, verbose=True,
                                           one_machine=True, storage_host_path=storage),
                          log_dir=tmp_path_factory.mktemp("real-operator"))
    proc.start()
    yield proc
    proc.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def real_namespace(real_api: client.ApiClient) -> AsyncIterator[str]:
    async with scratch_namespace(real_api, "e2e-", TEST_LABELS) as name:
        yield name
