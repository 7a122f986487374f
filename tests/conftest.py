"""Session fixtures for tests that need a real Kubernetes control plane.

- `cluster`: a fresh LocalCluster (devcluster) in its own temporary state directory,
  stopped at the end of the session; or, only when DLWS_TEST_KUBECONFIG names a
  kubeconfig, that existing cluster (reused, never stopped).
- `api`: a kubernetes.aio ApiClient for the cluster's admin identity.
- `namespace`: a fresh namespace per test, with its `default` ServiceAccount in place.

Nothing here reads ~/.kube/config or $KUBECONFIG: every client gets an explicit kubeconfig.
"""
from __future__ import annotations

import asyncio
import atexit
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from kubernetes.aio import client, config
from kubernetes.aio.client.exceptions import ApiException

from devcluster import LocalCluster, kubeconfig
from devcluster.binaries import ensure_binaries
from tests.kubeobj import model, plain

# Removed at import, before any client library can look at it: a test must never talk to
# whatever cluster the developer's shell points at.
os.environ.pop("KUBECONFIG", None)

REUSE_ENV = "DLWS_TEST_KUBECONFIG"


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
    return ClusterAccess(kubeconfig=path, server=access.server, ca_file=ca_file,
                         token=access.token, bin_dir=ensure_binaries().bin_dir)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterAccess]:
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        yield _reuse(Path(reuse).absolute(), tmp_path_factory.mktemp("reused-cluster"))
        return
    # Under pytest's temporary directory: the logs stay there (pytest keeps the last few
    # sessions' directories) for a failure to be looked into after the cluster is gone.
    local = LocalCluster(tmp_path_factory.mktemp("cluster"))

    def stop() -> None:
        local.down(keep_logs=True)

    atexit.register(stop)  # in case the session dies before fixture teardown
    try:
        info = local.up()
        yield ClusterAccess(kubeconfig=info.kubeconfig, server=info.server,
                            ca_file=info.ca_file, token=info.token, bin_dir=info.bin_dir,
                            local=local)
    finally:
        stop()
        atexit.unregister(stop)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api(cluster: ClusterAccess) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(cluster.kubeconfig),  # type: ignore[no-untyped-call]
                                  client_configuration=configuration, persist_config=False)
    async with client.ApiClient(configuration=configuration) as api_client:
        yield api_client


async def wait_for_default_service_account(core: client.CoreV1Api, namespace: str,
                                           timeout: float = 60.0) -> None:
    """Pods are refused in a namespace until the controller-manager has made its
    `default` ServiceAccount."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await core.read_namespaced_service_account("default", namespace)
            return
        except ApiException as e:
            if e.status != 404 or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.1)


async def fresh_namespace(api: client.ApiClient, prefix: str) -> AsyncIterator[str]:
    """A new namespace with its `default` ServiceAccount in place, deleted afterwards."""
    core = client.CoreV1Api(api)
    ns = await core.create_namespace(model(client.V1Namespace, {
        "metadata": {"generateName": prefix, "labels": {"dlws.test/owner": "pytest"}}}))
    name: str = plain(api, ns)["metadata"]["name"]
    try:
        await wait_for_default_service_account(core, name)
        yield name
    finally:
        # Not waited for: the namespace controller finishes it in the background.
        try:
            await core.delete_namespace(name)
        except ApiException as e:
            if e.status != 404:
                raise


@pytest_asyncio.fixture(loop_scope="session")
async def namespace(api: client.ApiClient) -> AsyncIterator[str]:
    async for name in fresh_namespace(api, "test-"):
        yield name


@pytest_asyncio.fixture(loop_scope="session")
async def other_namespace(api: client.ApiClient) -> AsyncIterator[str]:
    """A second fresh namespace, for another family or user."""
    async for name in fresh_namespace(api, "test-other-"):
        yield name
