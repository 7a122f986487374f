"""The operator and the shim run in tests as their ServiceAccounts, with the RBAC from
manifests/rbac applied: every integration test is also a test of least privilege."""
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).parents[2]
NAMESPACE = "dlws-system"


@dataclass(frozen=True)
class Identities:
    operator_kubeconfig: Path
    shim_kubeconfig: Path


def kubeconfig_for(admin_kubeconfig: Path, user: str, token: str, path: Path) -> Path:
    """The admin kubeconfig's cluster with another identity's bearer token."""
    cfg = yaml.safe_load(admin_kubeconfig.read_text())
    cfg["users"] = [{"name": user, "user": {"token": token}}]
    cfg["contexts"] = [{"name": user, "context": {"cluster": cfg["clusters"][0]["name"], "user": user}}]
    cfg["current-context"] = user
    path.write_text(yaml.safe_dump(cfg))
    path.chmod(0o600)
    return path


def make_identities(cluster: Any, tmp: Path) -> Identities:
    """Installs the shipped namespace, RBAC and PriorityClasses; kubeconfigs for both ServiceAccounts."""
    cluster.kubectl("apply", "-f", str(REPO / "manifests" / "base" / "namespace.yaml"))
    cluster.kubectl("apply", "-k", str(REPO / "manifests" / "rbac"))
    # Every job's Pod names one (a reused cluster may predate them; devcluster installs them).
    cluster.kubectl("apply", "-k", str(REPO / "manifests" / "priority"))

    def token(sa: str) -> str:
        return str(cluster.kubectl("create", "token", sa, "-n", NAMESPACE, "--duration=24h").stdout.strip())

    return Identities(
        operator_kubeconfig=kubeconfig_for(cluster.kubeconfig, "dlws-operator", token("dlws-operator"),
                                           tmp / "operator.kubeconfig"),
        shim_kubeconfig=kubeconfig_for(cluster.kubeconfig, "dlws-api-shim", token("dlws-api-shim"),
                                       tmp / "shim.kubeconfig"),
    )


@pytest.fixture(scope="session")
def identities(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Identities:
    return make_identities(cluster, tmp_path_factory.mktemp("identities"))
