"""Names of the DLWSJob resource and of the objects made for it.

These names are used by tests outside the project: keep them.
"""
from typing import Final

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
