"""Runs dlws-operator against the test control plane, as a real process."""
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.identities import Identities
from tests.integration.processes import ManagedProcess
from tests.integration.shim_fixture import free_port

BIN = Path(sys.executable).parent


def operator_process(identities: Identities, rest_api: str, log_path: Path) -> ManagedProcess:
    """A dlws-operator process (not started) as its ServiceAccount, injecting rest_api."""
    health, metrics = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update(KUBECONFIG=str(identities.operator_kubeconfig), DLWS_REST_API=rest_api)
    proc = ManagedProcess(
        [str(BIN / "dlws-operator"), "--liveness", f"http://127.0.0.1:{health}/healthz",
         "--metrics-host", "127.0.0.1", "--metrics-port", str(metrics), "--verbose"],
        env=env, log_path=log_path, ready_url=f"http://127.0.0.1:{health}/healthz")
    proc.metrics_url = f"http://127.0.0.1:{metrics}/metrics"  # type: ignore[attr-defined]
    return proc


@pytest.fixture(scope="session")
def operator(identities: Identities, shim_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """The operator, as its ServiceAccount (manifests/rbac), injecting shim_url into pods."""
    proc = operator_process(identities, shim_url, tmp_path_factory.mktemp("operator") / "operator.log")
    proc.start()
    yield proc
    proc.stop()
