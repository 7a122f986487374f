"""What the operator does for each state of a job, its Pod and the jobs above it: pure
functions from what a handler has read to what it does. lifecycle.py reads, asks here and
carries the answer out; tests/unit/test_operator_decisions.py walks every arrow below.

    created ─run_job──▶ family Secret (a root) or family check (a child)
            ─▶ every job above alive (ancestry.py) ─▶ Pod; else Killing, no Pod
            (not a family member, an unknown gpuType, a storage path against
            DLWS's rules, a LimitRange, its Pod's name
            taken: Failed; no room in the quota: Pending, tried again later)
    Pod Pending, Running, Succeeded, Failed ─mirror_pod─▶ the same in the job's status
    Pod deleted from under a live job ─mirror_pod─▶ Failed (PodDeleted)
    a distributed job (PSDistJob): its headless Service, then a Pod per member; its
    status is all of them (status.distributed_status): Running when all run, Failed as
    soon as one fails (the others stopped), Succeeded once every worker has (its
    parameter servers stopped); a finished one's status is final
    job deleted ─on_job_event─▶ Killing (the job killed, not each job below it: they show
                 their deletionTimestamp); the garbage collector removes its Pod and subtree
    ended, and so every job below it, ttlSecondsAfterFinished ago ─cleanup─▶ deleted
                 (the topmost such job of a subtree; the collector takes the rest)
"""
import enum
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from dlws_contract import distributed, phases, resource
from dlws_contract.spec import JobSpec, unknown_gpu_type
from dlws_contract.storage import storage_problem
from dlws_operator.job_view import JobView
from dlws_operator.refusals import Refusal
from dlws_operator.status import (PodState, distributed_phase, distributed_status, pod_lost_status, pods_to_stop,
                                  status_from_state, status_key, withheld_status)


@dataclass(frozen=True, slots=True)
class Notice:
    """An Event to post about the job."""
    type: str  # Normal or Warning
    reason: str
    message: str


# -- run_job: a job created, or found at the operator's start ---------------------------------


class Run(enum.Enum):
    SKIP = "skip"    # being deleted, or an earlier run made everything
    START = "start"  # start_job: its family, then its Pod


def is_root(labels: Mapping[str, str]) -> bool:
    return resource.LABEL_PARENT not in labels


def already_running(meta: Mapping[str, Any], status: Mapping[str, Any], pod_owner: str | None) -> bool:
    """Whether an earlier run made everything (the operator restarted): the job's pod
    exists (pod_owner: the uid of the job that owns it, None if none) and, on a root, the
    family label is the one we wrote."""
    if pod_owner != meta["uid"]:
        return False
    labels = meta.get("labels") or {}
    return not is_root(labels) or (
        bool(status.get("familyDigest")) and labels.get(resource.LABEL_FAMILY) == status.get("familyDigest"))


def run(meta: Mapping[str, Any], status: Mapping[str, Any], pod_owner: str | None) -> Run:
    if meta.get("deletionTimestamp") or already_running(meta, status, pod_owner):
        return Run.SKIP
    return Run.START


# -- start_job: a root's family, then the Pod, in this order ------------------------------------


@dataclass(frozen=True, slots=True)
class FamilyMarks:
    """What a root's labels and status must gain to carry its family digest ({}: nothing)."""
    labels: dict[str, str]
    status: dict[str, str]


def family_marks(meta: Mapping[str, Any], status: Mapping[str, Any], digest: str) -> FamilyMarks:
    labels = meta.get("labels") or {}
    marks = FamilyMarks({}, {})
    if labels.get(resource.LABEL_FAMILY) != digest or labels.get(resource.LABEL_ROOT) != meta["name"]:
        marks.labels.update({resource.LABEL_FAMILY: digest, resource.LABEL_ROOT: meta["name"]})
    if status.get("familyDigest") != digest:
        marks.status["familyDigest"] = digest
    return marks


@dataclass(frozen=True, slots=True)
class Refuse:
    """The job fails with no Pod: its status and a Warning Event say why."""
    reason: str
    message: str


def refusal_before_pod(family_problem: str | None, spec: JobSpec, gpu_types: Collection[str],
                       max_pods: int = distributed.MAX_PODS_DEFAULT) -> Refuse | None:
    """A child not of its root's family (family_problem: family.verify_child's answer),
    a GPU type the cluster does not list, a storage path against DLWS's rules (a job
    applied without the shim: dlws_contract.storage), or a distributed job of more Pods
    than the cluster allows (max_pods) gets no Pod."""
    if family_problem is not None:
        return Refuse("InvalidFamily", family_problem)
    if distributed.is_distributed(spec.get("jobtrainingtype")) and (
            too_many := distributed.too_many_pods(int(spec.get("numps", 0)), int(spec.get("numpsworker", 0)),
                                                  max_pods)) is not None:
        return Refuse("TooManyPods", too_many)
    if (path_problem := storage_problem(spec)) is not None:
        return Refuse("InvalidPath", path_problem)
    gpu_type = spec.get("gpuType")
    if gpu_type and (problem := unknown_gpu_type(gpu_type, gpu_types)) is not None:
        return Refuse("UnknownGpuType", problem)
    return None


def withheld(job: str, dying: str | None) -> dict[str, Any] | None:
    """The status of a job given no Pod because it, or `dying` above it, is being killed
    or is gone (ancestry.check_chain); None when every job of its chain is alive. No
    Event: as for a kill, one for the killed job is enough."""
    return None if dying is None else withheld_status(job, dying)


@dataclass(frozen=True, slots=True)
class WaitForRoom:
    """The namespace has no room for the Pod yet: the job shows Pending saying why
    (write_status, when its status does not say so already) and is tried again later;
    one Event when the reason is new."""
    refusal: Refusal
    write_status: bool
    notice: Notice | None


def pod_refused(refusal: Refusal, status: Mapping[str, Any]) -> Refuse | WaitForRoom:
    """What a Pod the namespace refused (refusals.pod_refusal) means for its job."""
    if not refusal.waits:
        return Refuse(refusal.reason, refusal.message)
    return WaitForRoom(
        refusal,
        write_status=status.get("reason") != refusal.reason or status.get("message") != refusal.message,
        notice=(Notice("Warning", refusal.reason, refusal.message) if status.get("reason") != refusal.reason
                else None))


def pod_created(name: str) -> Notice:
    return Notice("Normal", "PodCreated", f"created pod {name}")


def pod_name_taken(name: str, existing: Mapping[str, Any] | None, uid: str) -> Refuse | None:
    """The Pod's create found one of its name (`existing`, read back; None: gone since):
    made by an earlier run of this job, fine; another's, the job fails."""
    if existing is not None and not resource.owned_by(existing, uid):
        return Refuse("PodNameTaken", f"a pod named {name} exists and does not belong to this job")
    return None


# -- on_job_event: every event of every job -----------------------------------------------------


class JobEvent(enum.Enum):
    FORGET = "forget"                # the job is gone: forget it
    MARK_KILLING = "mark killing"    # the job a kill named: counted Killing, shows it, one Event
    COUNT_KILLING = "count killing"  # deleted with a job above it: counted Killing, no write of ours
    NOTHING = "nothing"


KILLING_NOTICE = Notice("Normal", "Killing", "deleting the job's pod and every job it submitted")


def job_event(type: str | None, meta: Mapping[str, Any], status: Mapping[str, Any], *,
              parent_deleting: bool) -> JobEvent:
    """parent_deleting: the job watch holds the job its parent label names, being deleted.

    Only the job a kill named gets a Killing status and an Event, not one the garbage
    collector deletes because a job above it is being deleted. A kill of 1,001 jobs is
    then one write of ours, not 1,001 beside the collector's own; the jobs below show
    their deletionTimestamp (the Killed column, and "killing" in JobDetail)."""
    if type == "DELETED":
        return JobEvent.FORGET
    if not meta.get("deletionTimestamp") or status.get("phase") == phases.KILLING:
        return JobEvent.NOTHING
    return JobEvent.COUNT_KILLING if parent_deleting else JobEvent.MARK_KILLING


# -- mirror_pod: every change of a job's Pod ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodLost:
    """The Pod was deleted from under a live, unfinished job: the job has failed (and a
    distributed job's other Pods are stopped)."""
    status: dict[str, Any]
    notice: Notice
    stop: tuple[PodState, ...] = ()


@dataclass(frozen=True, slots=True)
class Mirror:
    """Write the status the Pod implies into its job's, then stop these Pods (a
    distributed job that has just finished)."""
    status: dict[str, Any]
    stop: tuple[PodState, ...] = ()


@dataclass(frozen=True, slots=True)
class Stop:
    """A finished distributed job's status stands; these Pods of it still run: stop them."""
    pods: tuple[PodState, ...]


def mirror(pod: PodState, deleted: bool, view: JobView | None, *, now: str,
           job_pods: Mapping[str, PodState] | None = None) -> PodLost | Mirror | Stop | None:
    """What a Pod's latest state (`deleted`: gone) means for the job that owns it.
    view: the job watch's view of a job of the owner's name (None: none held); `now`
    stamps conditions the Pod has no time for; job_pods: a distributed job's live Pods
    by name. None: nothing to write."""
    if pod.owner is None:
        return None
    if view is not None and view.uid != pod.owner.uid:
        view = None  # a new job of the same name; this pod belonged to the old one
    if pod.member is not None and pod.shape is not None:
        return _mirror_member(pod, pod.shape, deleted, view, job_pods or {}, now=now)
    if deleted:
        # Killed jobs lose their pods by garbage collection: nothing to say. A pod gone
        # from under a live, unfinished job means the job failed.
        if view is not None and not view.deleting and view.mirrored[0] not in phases.FINISHED_PHASES:
            return PodLost(pod_lost_status(pod.name, now=now),
                           Notice("Warning", "PodDeleted", "the job's pod was deleted; the job has failed"))
        return None
    if pod.deleting or (view is not None and view.deleting):
        # Being killed: mark_killing shows the job Killing and the garbage collector removes
        # the pod. A status write here would only make the collector's own patch of the
        # dying job conflict and retry.
        return None
    new = status_from_state(pod, now=now)
    if view is not None and view.mirrored == status_key(new):
        return None  # the status says this already (e.g. after an operator restart)
    return Mirror(new)


def _mirror_member(pod: PodState, shape: tuple[int, int], deleted: bool, view: JobView | None,
                   pods: Mapping[str, PodState], *, now: str) -> PodLost | Mirror | Stop | None:
    """mirror() for a Pod of a distributed job: the job's status is all of its Pods'."""
    assert pod.owner is not None
    job = pod.owner.name
    if view is not None and view.deleting:
        return None  # killed: the garbage collector stops every Pod
    if view is not None and view.mirrored[0] in phases.FINISHED_PHASES:
        stop = pods_to_stop(job, shape, view.mirrored[0], pods)
        return Stop(stop) if stop else None
    if deleted:
        if view is None:
            return None
        phase, _, _ = distributed_phase(job, shape, pods)
        if phase not in phases.FINISHED_PHASES:
            return PodLost(pod_lost_status(pod.name, now=now),
                           Notice("Warning", "PodDeleted", f"pod {pod.name} of the job was deleted; the job has failed"),
                           pods_to_stop(job, shape, phases.FAILED, pods))
    elif pod.deleting:
        return None  # its deletion, once done, says what it means
    new = distributed_status(job, shape, pods, now=now)
    stop = pods_to_stop(job, shape, new["phase"], pods)
    if view is not None and view.mirrored == status_key(new):
        return Stop(stop) if stop else None
    return Mirror(new, stop)


def mirrored_notice(previous: str | None, new: Mapping[str, Any], pod_name: str) -> Notice | None:
    """The Event of a status written from a Pod (previous: the phase the operator last
    counted the job in, None if none): one per phase reached, none for Pending."""
    phase = new["phase"]
    if previous == phase or phase == phases.PENDING:
        return None
    return Notice("Warning" if phase == phases.FAILED else "Normal", f"Job{phase}",
                  new.get("message") or f"pod {pod_name} is {phase.lower()}")


def first_ip(previous: str | None, new: Mapping[str, Any]) -> bool:
    """Whether this write gives the job its first pod IP (metrics.TIME_TO_POD_IP)."""
    return bool(new.get("podIP")) and previous in (None, phases.PENDING)


# -- cleanup: ended families, ttlSecondsAfterFinished after their end ----------------------------


Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class Cleanup:
    delete: list[tuple[Key, str]]  # (job, uid): the topmost jobs whose whole subtree is due
    next_at: float | None          # when the next job becomes due (epoch seconds), if any will


def job_due_at(view: JobView, default_ttl: int | None) -> float:
    """When the job may be deleted: its end plus its own ttlSecondsAfterFinished, else the
    cluster's (not for a job a GitOps tool manages: it would make the job again); never
    (inf) while it runs, is being deleted, or has no TTL."""
    ttl = view.ttl if view.ttl is not None else (None if view.gitops else default_ttl)
    if view.ended_at is None or view.deleting or ttl is None:
        return math.inf
    return view.ended_at + ttl


def cleanup(views: Mapping[Key, JobView], now: float, default_ttl: int | None) -> Cleanup:
    """Which jobs to delete now: a job is deleted once it and every job below it are due
    (job_due_at), so a deletion never kills a job that runs, nor removes one before its
    own time; the family Secret, Pods and kill records go with their owners. Only the
    topmost due job of a subtree is named: the garbage collector takes what is below it."""
    children: dict[Key, list[Key]] = {}
    for key, view in views.items():
        if view.parent is not None and (above := (key[0], view.parent.name)) in views:
            if not view.parent.uid or views[above].uid == view.parent.uid:
                children.setdefault(above, []).append(key)
    due: dict[Key, float] = {}  # when each subtree is due: its latest job's time
    visiting: set[Key] = set()
    # Post-order without recursion (a job's time needs its children's first); labels in a
    # loop (hand-made) are never due.
    stack: list[Key] = list(views)
    while stack:
        key = stack[-1]
        if key in due:
            stack.pop()
            continue
        waiting = [k for k in children.get(key, []) if k not in due and k not in visiting]
        if key not in visiting and waiting:
            visiting.add(key)
            stack.extend(waiting)
            continue
        stack.pop()
        visiting.discard(key)
        due[key] = max([job_due_at(views[key], default_ttl), *(due.get(k, math.inf) for k in children.get(key, []))])
    delete = []
    for key, at in due.items():
        if at > now:
            continue
        up = views[key].parent
        parent_key = (key[0], up.name) if up is not None else None
        if parent_key is not None and key in children.get(parent_key, []) and due.get(parent_key, math.inf) <= now:
            continue  # its parent's deletion takes it
        delete.append((key, views[key].uid))
    pending = [at for at in due.values() if now < at < math.inf]
    return Cleanup(delete=sorted(delete), next_at=min(pending) if pending else None)


def record_due_at(killed_at: float, ttl: int | None, default_ttl: int | None) -> float:
    """When a kill record (kill_record.py) may go: the killed jobs ended when killed, and
    are kept as long as ended jobs are. A record of a job below its root also goes with
    the root (its owner)."""
    keep = ttl if ttl is not None else default_ttl
    return math.inf if keep is None else killed_at + keep
