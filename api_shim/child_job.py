"""The DLWSJob a SubmitJob call makes: a pure function of the request and the family."""
from __future__ import annotations

import datetime
from typing import Any

from api_shim import idempotency
from api_shim.records import JobRecord
from dlws_contract import resource
from dlws_contract.resource import owner_reference
from dlws_contract.spec import JobSpec
from dlws_contract.storage import storage_paths


def build_child(*, name: str, spec: JobSpec, parent: JobRecord, root: JobRecord,
                digest: str, fingerprint: str | None = None, today: datetime.date | None = None) -> dict[str, Any]:
    """name: a fresh uuid4 or an idempotency key's; spec: from spec_from_parameters;
    parent: the job it hangs under; root: the family root, whose user the child runs as;
    fingerprint: what a keyed call asked for (idempotency.py); today: the job's day, for
    its default jobPath (default: today, UTC).

    dataPath, workPath and jobPath are stored resolved (storage.storage_paths), as DLWS
    stored them: relative to the family's user, jobPath <user>/jobs/<yymmdd>/<jobId> by
    default. InvalidJob if the root's userName cannot name a directory.

    No label of the parent is copied beyond the family's own: a GitOps tracking label
    copied onto a child would have the tool prune it as "not in git".
    """
    paths = storage_paths(user_name=root.user_name, job_id=name,
                          created=today or datetime.datetime.now(datetime.UTC).date(),
                          dataPath=spec.get("dataPath", ""), workPath=spec.get("workPath", ""),
                          jobPath=spec.get("jobPath", ""))
    return {
        "apiVersion": resource.API_VERSION,
        "kind": resource.KIND,
        "metadata": {
            "name": name,
            "namespace": root.namespace,
            "labels": {
                resource.LABEL_FAMILY: digest,
                resource.LABEL_PARENT: parent.name,
                resource.LABEL_ROOT: root.name,
            },
            # Set in the create call itself: from its first moment the child is a
            # dependent of its parent, so a foreground kill of any ancestor takes it too.
            "ownerReferences": [owner_reference({"metadata": {"name": parent.name, "uid": parent.uid}})],
            **({"annotations": {idempotency.FINGERPRINT_ANNOTATION: fingerprint}} if fingerprint else {}),
        },
        # The user is the family's, never the request's.
        "spec": {**spec, "userName": root.user_name, "userId": root.user_id, **family_defaults(spec, parent, root),
                 "dataPath": paths.dataPath, "workPath": paths.workPath, "jobPath": paths.jobPath},
    }


def family_defaults(spec: JobSpec, parent: JobRecord, root: JobRecord) -> dict[str, Any]:
    """What a child takes from its family unless it names its own: the root's group (a
    child never picks one) and its parent's virtual cluster."""
    defaults: dict[str, Any] = {}
    if root.group_id is not None:
        defaults["gid"] = root.group_id
    if "vcName" not in spec and parent.vc_name:
        defaults["vcName"] = parent.vc_name
    return defaults
