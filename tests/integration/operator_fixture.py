"""Runs dlws-operator against the test control plane, as a real process."""
from collections.abc import Iterator

import pytest

from devcluster.commands import operator_command
from devcluster.managed import ManagedProcess
from tests.integration.identities import Identities


@pytest.fixture(scope="session")
def operator(identities: Identities, shim_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """The operator, as its ServiceAccount (manifests/rbac), injecting shim_url into pods."""
    proc = ManagedProcess(operator_command(identities.operator_kubeconfig, shim_url, verbose=True),
                          log_dir=tmp_path_factory.mktemp("operator"))
    proc.start()
    yield proc
    proc.stop()
