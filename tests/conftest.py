"""Session fixtures for tests that need a real Kubernetes control plane.

- `cluster`: a fresh LocalCluster (devcluster) with kwok's fake nodes in its own temporary
  state directory, stopped at the end of the session; or, only when DLWS_TEST_KUBECONFIG
  names a kubeconfig, that existing cluster (reused, never stopped).
- `real_cluster`: the same with one real node (kubelet, containerd, runc), where a job's
  process really runs; DLWS_TEST_REAL_KUBECONFIG reuses one on purpose.
- `api` / `real_api`: a kubernetes.aio ApiClient for either cluster's admin identity.
- `namespace`: a fresh namespace per test, with its `default` ServiceAccount in place.

Nothing here reads ~/.kube/config or $KUBECONFIG: every client gets an explicit kubeconfig.
"""
from __future__ import annotations

import atexit
import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from kubernetes.aio import client, config

from devcluster import LocalCluster, kubeconfig
from devcluster.binaries import ensure_binaries
from devcluster.real_node import missing_capabilities
from devcluster.scratch import scratch_namespace

# Removed at import, before any client library can look at it: a test must never talk to
# whatever cluster the developer's shell points at.
os.environ.pop("KUBECONFIG", None)

REUSE_ENV = "DLWS_TEST_KUBECONFIG"
REUSE_REAL_ENV = "DLWS_TEST_REAL_KUBECONFIG"
# Set to 1 to skip the real-node tests on purpose (a machine without root); never implied.
SKIP_REAL_ENV = "DLWS_TEST_SKIP_REAL_NODE"
# On every namespace a test makes.
TEST_LABELS = {"dlws.test/owner": "pytest"}


@dataclass(frozen=True)
class ClusterAccess:
    """How tests reach the control plane (admin identity)."""

    kubeconfig: Path
    server: str
    ca_file: Path
    token: str
    bin_dir: Path
    # The cluster itself when this session started it (None when reusing one through
    # DLWS_TEST_KUBECONFIG): fault-injection tests stop and start its components.
    local: LocalCluster | None = None
    # Where pods reach this machine's services (the shim): the real node's bridge address.
    host_address: str = "127.0.0.1"

    def kubectl(self, *args: str, check: bool = True, input: str | None = None,
                timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster (always with --kubeconfig); text output."""
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        return subprocess.run(
            [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input, capture_output=True, text=True, check=check, env=env, timeout=timeout,
        )


def _reuse(path: Path, tmp: Path) -> ClusterAccess:
    access = kubeconfig.read(path)
    ca_file = tmp / "ca.crt"
    ca_file.write_bytes(access.ca_data)
    cluster_json = path.parent / "cluster.json"  # beside a devcluster's kubeconfig
    host = json.loads(cluster_json.read_text()).get("host_address") if cluster_json.exists() else None
    return ClusterAccess(kubeconfig=path, server=access.server, ca_file=ca_file,
                         token=access.token, bin_dir=ensure_binaries().bin_dir,
                         host_address=host or "127.0.0.1")


def _session_cluster(tmp_path_factory: pytest.TempPathFactory, reuse_env: str,
                     node_kind: str, in_cluster: bool = False) -> Iterator[ClusterAccess]:
    reuse = os.environ.get(reuse_env)
    if reuse:
        yield _reuse(Path(reuse).absolute(), tmp_path_factory.mktemp(f"reused-{node_kind}-cluster"))
        return
    # Under pytest's temporary directory: the logs stay there (pytest keeps the last few
    # sessions' directories) for a failure to be looked into after the cluster is gone.
    name = "in-cluster" if in_cluster else f"{node_kind}-cluster"
    local = LocalCluster(tmp_path_factory.mktemp(name), node_kind=node_kind, in_cluster=in_cluster)

    def stop() -> None:
        local.down(keep_logs=True)

    atexit.register(stop)  # in case the session dies before fixture teardown
    try:
        info = local.up()
        yield ClusterAccess(kubeconfig=info.kubeconfig, server=info.server,
                            ca_file=info.ca_file, token=info.token, bin_dir=info.bin_dir,
                            local=local, host_address=info.host_address)
    finally:
        stop()
        atexit.unregister(stop)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterAccess]:
    yield from _session_cluster(tmp_path_factory, REUSE_ENV, "kwok")


def real_node_clusters(tmp_path_factory: pytest.TempPathFactory, reuse_env: str,
                       in_cluster: bool = False) -> Iterator[ClusterAccess]:
    """A cluster with a real node, or a skip/fail that says why this machine has none."""
    missing = missing_capabilities()
    if missing and os.environ.get(SKIP_REAL_ENV) == "1":
        pytest.skip(f"{SKIP_REAL_ENV}=1: real-node tests skipped on purpose")
    if missing and not os.environ.get(reuse_env):
        pytest.fail(f"a real node needs {', '.join(missing)} (set {SKIP_REAL_ENV}=1 to skip these tests)",
                    pytrace=False)
    yield from _session_cluster(tmp_path_factory, reuse_env, "real", in_cluster)


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterAccess]:
    yield from real_node_clusters(tmp_path_factory, REUSE_REAL_ENV)


async def admin_client(cluster: ClusterAccess) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(cluster.kubeconfig),  # type: ignore[no-untyped-call]
                                  client_configuration=configuration, persist_config=False)
    async with client.ApiClient(configuration=configuration) as api_client:
        yield api_client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api(cluster: ClusterAccess) -> AsyncIterator[client.ApiClient]:
    async for api_client in admin_client(cluster):
        yield api_client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def real_api(real_cluster: ClusterAccess) -> AsyncIterator[client.ApiClient]:
    async for api_client in admin_client(real_cluster):
        yield api_client


@pytest_asyncio.fixture(loop_scope="session")
async def namespace(api: client.ApiClient) -> AsyncIterator[str]:
    async with scratch_namespace(api, "test-", TEST_LABELS) as name:
        yield name


@pytest_asyncio.fixture(loop_scope="session")
async def other_namespace(api: client.ApiClient) -> AsyncIterator[str]:
    """A second fresh namespace, for another family or user."""
    async with scratch_namespace(api, "test-other-", TEST_LABELS) as name:
        yield name
