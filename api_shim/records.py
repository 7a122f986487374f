"""What the shim remembers of one DLWSJob, and of one job's Pod: the few fields its
decisions need.

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
    group_id: int | None = None  # spec.gid: a root's own group (DLWS_GID), else the user id
    vc_name: str | None = None   # spec.vcName: the children's default
    job_name: str = ""          # spec.jobName, and metadata.creationTimestamp: what a kill
    created: str | None = None  # record keeps of each job it took (kill_record.py)
    # A distributed job's Pods: (role, index, IP or None) each, from status.pods.
    members: tuple[tuple[str, int, str | None], ...] = ()

    @property
    def members_have_ips(self) -> bool:
        """Every Pod of a distributed job has an IP (True for a one-Pod job)."""
        return all(ip for _, _, ip in self.members)

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


@dataclass(frozen=True, slots=True)
class PodRecord:
    """A job's Pod, as far as telling which job a request's source address is."""
    namespace: str
    name: str
    job: str                    # label: the jobId the Pod runs
    owner_uid: str              # uid of the DLWSJob that controls it ("" if none)
    family: str | None          # label: the family digest, copied from its job
    ips: tuple[str, ...]        # status.podIPs (or podIP): empty until the kubelet reports one
    scheduled: bool             # spec.nodeName is set: its containers may be starting
    terminal: bool              # Succeeded or Failed: no process left, its address is free
    host_network: bool          # shares its node's addresses with everything on that node
    deleting: bool              # metadata.deletionTimestamp is set

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def may_call(self) -> bool:
        """Whether a request from one of its addresses can only have come from this Pod:
        its processes may run (a Pod being deleted still runs until its grace ends), and
        the address is its own."""
        return bool(self.ips) and not self.terminal and not self.host_network

    @property
    def starting(self) -> bool:
        """Placed on a node and not over, but without an address in our view yet: its first
        request may reach us before the kubelet's report of its address does."""
        return self.scheduled and not self.ips and not self.terminal and not self.deleting


def pod_record_from_object(obj: Mapping[str, Any]) -> PodRecord:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    ips = tuple(str(a["ip"]) for a in status.get("podIPs") or [] if a.get("ip"))
    if not ips and status.get("podIP"):
        ips = (str(status["podIP"]),)
    owner = next((str(ref.get("uid", "")) for ref in meta.get("ownerReferences") or []
                  if ref.get("kind") == resource.KIND and ref.get("controller")), "")
    return PodRecord(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        job=str(labels.get(resource.LABEL_JOB, "")),
        owner_uid=owner,
        family=labels.get(resource.LABEL_FAMILY),
        ips=ips,
        scheduled=bool(spec.get("nodeName")),
        terminal=status.get("phase") in ("Succeeded", "Failed"),
        host_network=bool(spec.get("hostNetwork")),
        deleting=bool(meta.get("deletionTimestamp")),
    )


def record_from_object(obj: Mapping[str, Any]) -> JobRecord:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    user_id, group_id, vc_name = spec.get("userId", 0), spec.get("gid"), spec.get("vcName")
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
        user_id=user_id if _whole(user_id) else 0,
        group_id=group_id if _whole(group_id) else None,
        vc_name=str(vc_name) if vc_name else None,
        members=tuple((str(p.get("role", "")), int(p.get("index", 0)), p.get("podIP") or None)
                      for p in status.get("pods") or [] if isinstance(p, Mapping)),
        job_name=str(spec.get("jobName") or ""),
        created=meta.get("creationTimestamp") or None,
    )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
