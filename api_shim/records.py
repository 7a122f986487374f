"""What the shim remembers of one DLWSJob: the few fields its decisions need.

Pure: built from the object the API server sends, no Kubernetes calls.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dlws_contract import phases, resource

# A jobId is a DLWSJob name, which the CRD restricts to a DNS-1123 label. Anything else
# (path separators, "..", selectors, huge strings) cannot name a job and is answered as
# unknown without asking the API server.
_JOB_ID: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def is_job_id(value: str) -> bool:
    return bool(_JOB_ID.fullmatch(value))


@dataclass(frozen=True, slots=True)
class JobRecord:
    namespace: str
    name: str
    uid: str
    family: str | None          # label: digest of the family token
    parent: str | None          # label: parent jobId; None on a root
    family_digest: str | None   # status.familyDigest, written by the operator only
    deleting: bool              # metadata.deletionTimestamp is set
    phase: str | None
    pod_ip: str | None
    user_name: str
    user_id: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def is_family_root(self) -> bool:
        """A root the operator has given a family, and that is not being deleted.

        Users who may edit labels could forge the family label; only the operator can
        write status, so the label counts only when status.familyDigest agrees.
        """
        return (self.parent is None and bool(self.family)
                and self.family == self.family_digest and not self.deleting)

    @property
    def live(self) -> bool:
        """Holds (or will hold) a Pod: counts against the family's live-job limit."""
        return self.phase not in phases.FINISHED_PHASES


def still_there(job: JobRecord, fresh: Mapping[str, Any] | None) -> bool:
    """Whether `fresh`, the job's object as the API server has it now (None: gone), is
    still this job (same uid: not deleted and made again) and not being deleted."""
    if fresh is None:
        return False
    meta = fresh.get("metadata") or {}
    return str(meta.get("uid", "")) == job.uid and not meta.get("deletionTimestamp")


def record_from_object(obj: Mapping[str, Any]) -> JobRecord:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    user_id = spec.get("userId", 0)
    return JobRecord(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        family=labels.get(resource.LABEL_FAMILY),
        parent=labels.get(resource.LABEL_PARENT),
        family_digest=status.get("familyDigest"),
        deleting=bool(meta.get("deletionTimestamp")),
        phase=status.get("phase"),
        pod_ip=status.get("podIP") or None,
        user_name=str(spec.get("userName", "default")),
        user_id=user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else 0,
    )
