"""Names of the DLWSJob resource and of the objects made for it, and how those objects
name their owner. Pure.

These names are used by tests outside the project: keep them.
"""
import hashlib
from collections.abc import Mapping
from typing import Any, Final

GROUP: Final = "dlworkspace.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "DLWSJob"
PLURAL: Final = "dlwsjobs"
CRD_NAME: Final = f"{PLURAL}.{GROUP}"

# Every DLWSJob of a family carries the token digest; every child names its parent and
# the family root (the root's name makes the family easy to list with kubectl and names
# the family Secret). Pods carry the name of the job they run.
LABEL_FAMILY: Final = f"{GROUP}/family"
LABEL_PARENT: Final = f"{GROUP}/parent"
LABEL_ROOT: Final = f"{GROUP}/root"
LABEL_JOB: Final = f"{GROUP}/job"
# On a job's Pod: the generation of the job it was built from, so the status mirrored
# from the Pod can report observedGeneration without reading the job.
GENERATION_ANNOTATION: Final = f"{GROUP}/job-generation"
# Identifies the Secrets the operator owns, so RBAC and humans can tell them apart.
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "dlws-operator"

SECRET_TOKEN_KEY: Final = "token"


def family_secret_name(root_job: str) -> str:
    """The Secret that holds a family's token, owned by the family's root job."""
    return f"{root_job}-family-token"


def pod_name(job: str) -> str:
    """A job's one Pod has the job's name: deterministic, so a retried create cannot make two."""
    return job

# Status condition types the operator maintains.
CONDITION_READY: Final = "Ready"


def owned_by(obj: Mapping[str, Any], uid: str) -> bool:
    """Whether `obj` names the object of this uid among its owners."""
    return any(ref.get("uid") == uid for ref in obj.get("metadata", {}).get("ownerReferences") or [])


def owner_reference(owner: Mapping[str, Any], *, api_version: str = API_VERSION,
                    kind: str = KIND, controller: bool = True) -> dict[str, Any]:
    """A reference to `owner` that a foreground delete of it waits on (blockOwnerDeletion):
    how a kill reaches a job's Pod and children."""
    meta = owner["metadata"]
    return {"apiVersion": api_version, "kind": kind, "name": meta["name"], "uid": meta["uid"],
            "controller": controller, "blockOwnerDeletion": True}


# The kubelet's clusterDomain in make dev's cluster and most others (a setting where it
# matters: OperatorConfig.cluster_domain).
CLUSTER_DOMAIN_DEFAULT: Final = "cluster.local"
_MAX_DNS_LABEL: Final = 63


def service_name(prefix: str, job: str) -> str:
    """A Service of a job: a DNS-1035 label (prefix, a letter first: a jobId, a uuid4, may
    begin with a digit), deterministic, at most 63 characters (a long jobId is hashed)."""
    name = prefix + job
    if len(name) <= _MAX_DNS_LABEL:
        return name
    return f"{prefix}{job[:40].rstrip('-')}-{hashlib.sha256(job.encode()).hexdigest()[:16]}"
