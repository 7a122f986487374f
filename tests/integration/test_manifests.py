"""The install manifests against a real API server: they apply, and their RBAC is least privilege."""
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.identities import REPO, Identities, kubeconfig_for
from tests.integration.jobs import Jobs

pytestmark = pytest.mark.cluster


def as_identity(cluster: Any, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(cluster.bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}", *args],
                          capture_output=True, text=True, timeout=60)


def test_kustomize_install_passes_a_server_side_dry_run(cluster: Any, identities: Identities) -> None:
    # The namespace exists here (identities applied it): a server dry-run cannot create one
    # and then place objects in it.
    out = cluster.kubectl("apply", "-k", str(REPO / "manifests"), "--dry-run=server")
    for kind in ("customresourcedefinition.apiextensions.k8s.io/dlwsjobs.dlworkspace.io",
                 "deployment.apps/dlws-operator", "deployment.apps/dlws-api", "service/dlws-api",
                 "service/dlws-operator-metrics",
                 "clusterrole.rbac.authorization.k8s.io/dlws-api-shim",
                 "priorityclass.scheduling.k8s.io/dlws-preemptible",
                 "priorityclass.scheduling.k8s.io/dlws-non-preemptible"):
        assert kind in out.stdout


def test_the_sample_root_job_is_valid(cluster: Any, identities: Identities) -> None:
    out = cluster.kubectl("apply", "-f", str(REPO / "manifests" / "samples" / "root-job.yaml"), "--dry-run=server")
    # "created", or on a reused cluster that runs it (make dev), "unchanged" or "configured"
    assert out.stdout.startswith("dlwsjob.dlworkspace.io/sample-root ") and "(server dry run)" in out.stdout, out.stdout


def can_i(cluster: Any, kubeconfig: Path, verb: str, what: str) -> bool:
    """`what`: a resource, or resource/subresource (kubectl's TYPE/NAME would name an object)."""
    resource, _, subresource = what.partition("/")
    flags = [f"--subresource={subresource}"] if subresource else []
    out = as_identity(cluster, kubeconfig, "auth", "can-i", verb, resource, *flags, "-A")
    assert out.stdout.strip() in ("yes", "no"), out.stderr
    return out.stdout.strip() == "yes"


JOBS = "dlwsjobs.dlworkspace.io"
CRDS = "customresourcedefinitions.apiextensions.k8s.io"


@pytest.mark.parametrize("verb, what", [
    ("get", "secrets"), ("list", "secrets"), ("create", "secrets"),
    ("get", "pods"), ("create", "pods"), ("delete", "pods"), ("create", "services"), ("get", "services"),
    ("update", JOBS), ("patch", JOBS), ("patch", f"{JOBS}/status"), ("get", f"{JOBS}/status"),
    ("create", "events"), ("delete", "configmaps"), ("update", "configmaps"), ("create", "pods/log"),
])
def test_the_shim_identity_is_refused_what_it_does_not_need(
        cluster: Any, identities: Identities, verb: str, what: str) -> None:
    assert not can_i(cluster, identities.shim_kubeconfig, verb, what)


def test_the_shim_identity_cannot_read_a_secret(cluster: Any, identities: Identities) -> None:
    out = as_identity(cluster, identities.shim_kubeconfig, "get", "secrets", "-n", "default")
    assert out.returncode != 0 and "Forbidden" in out.stderr


@pytest.mark.parametrize("verb, what", [
    ("create", JOBS), ("get", JOBS), ("list", JOBS), ("watch", JOBS), ("delete", JOBS),
    ("update", f"{JOBS}/finalizers"),
    ("create", "configmaps"), ("list", "configmaps"), ("watch", "configmaps"), ("get", "pods/log"),
])
def test_the_shim_identity_may_do_its_job(cluster: Any, identities: Identities, verb: str, what: str) -> None:
    assert can_i(cluster, identities.shim_kubeconfig, verb, what)


@pytest.mark.parametrize("verb, what", [
    # Never needed.
    ("list", "secrets"), ("watch", "secrets"), ("delete", "secrets"), ("update", "secrets"),
    ("patch", "pods"), ("update", "pods"), ("delete", "services"), ("update", "services"), ("list", "services"),
    ("create", JOBS), ("update", JOBS), ("create", "configmaps"),
    ("create", "deployments.apps"), ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    # Held once, never used (manifests/rbac/operator-role.yaml says why for each rule left).
    ("get", f"{JOBS}/status"), ("update", f"{JOBS}/status"),
    ("patch", "events"), ("create", "events.events.k8s.io"), ("patch", "events.events.k8s.io"),
    ("list", "namespaces"), ("watch", "namespaces"), ("get", CRDS),
])
def test_the_operator_identity_is_refused_what_it_does_not_need(
        cluster: Any, identities: Identities, verb: str, what: str) -> None:
    assert not can_i(cluster, identities.operator_kubeconfig, verb, what)


@pytest.mark.parametrize("verb, what", [
    ("get", JOBS), ("list", JOBS), ("watch", JOBS), ("patch", JOBS), ("patch", f"{JOBS}/status"),
    ("update", f"{JOBS}/finalizers"),
    ("get", "pods"), ("list", "pods"), ("watch", "pods"), ("create", "pods"), ("delete", "pods"),
    ("get", "services"), ("create", "services"),
    ("get", "secrets"), ("create", "secrets"),
    ("create", "events"), ("list", CRDS), ("watch", CRDS),
    ("delete", JOBS), ("list", "configmaps"), ("watch", "configmaps"), ("delete", "configmaps"),
])
def test_the_operator_identity_may_do_its_job(cluster: Any, identities: Identities, verb: str, what: str) -> None:
    assert can_i(cluster, identities.operator_kubeconfig, verb, what)


async def test_block_owner_deletion_needs_the_finalizers_rule_granted_to_the_shim(
        cluster: Any, namespace: str, api: Any, operator: Any, tmp_path: Path) -> None:
    """OwnerReferencesPermissionEnforcement is on in the test cluster, as in hardened ones:
    an identity allowed to create DLWSJobs but not to update dlwsjobs/finalizers cannot
    make a child that blocks its parent's deletion; the shim's ClusterRole can."""
    jobs = Jobs(api, namespace)
    await jobs.root("owner")
    root = await jobs.family_ready("owner")
    cluster.kubectl("create", "serviceaccount", "creator", "-n", namespace)
    cluster.kubectl("create", "role", "creator", "-n", namespace, "--verb=create,get",
                    "--resource=dlwsjobs.dlworkspace.io")
    cluster.kubectl("create", "rolebinding", "creator", "-n", namespace, "--role=creator",
                    f"--serviceaccount={namespace}:creator")
    token = cluster.kubectl("create", "token", "creator", "-n", namespace).stdout.strip()
    kubeconfig = kubeconfig_for(cluster.kubeconfig, "creator", token, tmp_path / "creator.kubeconfig")
    child = {"apiVersion": "dlworkspace.io/v1alpha1", "kind": "DLWSJob",
             "metadata": {"name": "blocked", "namespace": namespace,
                          "ownerReferences": [{"apiVersion": "dlworkspace.io/v1alpha1", "kind": "DLWSJob",
                                               "name": "owner", "uid": root["metadata"]["uid"],
                                               "blockOwnerDeletion": True}]},
             "spec": {"jobName": "x", "image": "busybox", "jobType": "training"}}
    manifest = tmp_path / "child.json"
    manifest.write_text(json.dumps(child))
    refused = as_identity(cluster, kubeconfig, "create", "-f", str(manifest))
    assert refused.returncode != 0 and "blockOwnerDeletion" in refused.stderr
    allowed = as_identity(cluster, kubeconfig_for(cluster.kubeconfig, "shim-check", _shim_token(cluster),
                                                  tmp_path / "shim.kubeconfig"), "create", "-f", str(manifest))
    assert allowed.returncode == 0, allowed.stderr


def _shim_token(cluster: Any) -> str:
    return str(cluster.kubectl("create", "token", "dlws-api-shim", "-n", "dlws-system").stdout.strip())
