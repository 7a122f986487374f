"""A DLWSJob's status, mirrored from its Pod: pure functions. What the operator reads of
a Pod is read once, into a PodState; the pod mirror keeps only that of each Pod (a full Pod
is tens of kilobytes), and a job's status is made from it alone: what is kept is what is read."""
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlws_contract import distributed, phases, resource
from dlws_contract.distributed import Member
from dlws_operator.events import JobRef

_POD_PHASES = {
    "Pending": phases.PENDING,
    "Running": phases.RUNNING,
    "Succeeded": phases.SUCCEEDED,
    "Failed": phases.FAILED,
}


@dataclass(frozen=True, slots=True)
class PodState:
    namespace: str
    name: str
    owner: JobRef | None          # the DLWSJob controlling the Pod
    generation: str | None        # GENERATION_ANNOTATION: the job generation it was built from
    deleting: bool
    phase: str | None
    ip: str | None
    start_time: str | None
    reason: str | None
    message: str | None
    ready: Mapping[str, Any]       # the Ready condition, {} if none
    terminated: Mapping[str, Any]  # the first terminated container's state, {} if none
    # What the job got: cpurequest, cpulimit, memoryrequest, memorylimit, priorityClassName,
    # as (name, value) pairs, from the Pod's spec (status.resources).
    resources: tuple[tuple[str, str], ...] = ()
    # A Pod of a distributed job: which member it is, and the job's (numps, numpsworker).
    member: Member | None = None
    shape: tuple[int, int] | None = None
    uid: str = ""  # a stopped Pod is deleted only if it is still this one


def _member(meta: Mapping[str, Any]) -> tuple[Member | None, tuple[int, int] | None]:
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    try:
        member = Member(str(labels[distributed.LABEL_ROLE]), int(labels[distributed.LABEL_INDEX]))
        num_ps, num_workers = (int(n) for n in str(annotations[distributed.SHAPE_ANNOTATION]).split(","))
    except (KeyError, ValueError):
        return None, None
    return member, (num_ps, num_workers)


def pod_resources(spec: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    containers = spec.get("containers") or [{}]
    wanted = containers[0].get("resources") or {}
    requests, limits = wanted.get("requests") or {}, wanted.get("limits") or {}
    return _shared_resources(requests.get("cpu"), limits.get("cpu"), requests.get("memory"),
                             limits.get("memory"), spec.get("priorityClassName"))


@functools.lru_cache(maxsize=256)
def _shared_resources(*values: str | None) -> tuple[tuple[str, str], ...]:
    """One tuple for every Pod that asks for the same (most ask for the defaults): the pod
    cache holds thousands of PodStates."""
    names = ("cpurequest", "cpulimit", "memoryrequest", "memorylimit", "priorityClassName")
    return tuple((name, str(value)) for name, value in zip(names, values) if value)


def unschedulable(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """The PodScheduled condition of a Pod the scheduler could not place ({} otherwise):
    its message says why, e.g. "0/1 nodes are available: 1 Insufficient cpu."."""
    return next((c for c in status.get("conditions") or []
                 if c.get("type") == "PodScheduled" and c.get("status") == "False"), {})


def pod_state(pod: Mapping[str, Any]) -> PodState:
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    namespace = str(meta.get("namespace") or "")
    owner = next((JobRef(namespace, str(ref.get("name", "")), str(ref.get("uid", "")))
                  for ref in meta.get("ownerReferences") or []
                  if ref.get("kind") == resource.KIND and ref.get("controller")), None)
    ready: Mapping[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    # The job's container's end; or an init container's failure (dlws-dirs refusing a
    # path through a symlink), whose message is its log (FallbackToLogsOnError).
    ended = [*(status.get("containerStatuses") or []),
             *(cs for cs in status.get("initContainerStatuses") or []
               if ((cs.get("state") or {}).get("terminated") or {}).get("exitCode", 0) != 0)]
    terminated: Mapping[str, Any] = next((t for cs in ended if (t := (cs.get("state") or {}).get("terminated"))), {})
    # A Pod the scheduler cannot place says why only in its PodScheduled condition.
    waiting = unschedulable(status) if status.get("phase", "Pending") == "Pending" else {}
    member, shape = _member(meta)
    return PodState(
        namespace=namespace, name=str(meta.get("name") or ""), owner=owner,
        generation=(meta.get("annotations") or {}).get(resource.GENERATION_ANNOTATION),
        deleting=bool(meta.get("deletionTimestamp")), phase=status.get("phase"), ip=status.get("podIP"),
        start_time=status.get("startTime"), reason=status.get("reason") or waiting.get("reason"),
        message=status.get("message") or waiting.get("message"),
        ready=dict(ready), terminated=dict(terminated), resources=pod_resources(pod.get("spec") or {}),
        member=member, shape=shape, uid=str(meta.get("uid") or "") if member else "")


def status_from_state(pod: PodState, *, now: str) -> dict[str, Any]:
    """The job status a Pod implies. `now` stamps conditions the Pod has no time for.
    A job being killed is not mirrored from its Pod: killing_status() says what it shows."""
    generation = int(pod.generation if pod.generation is not None else "1")
    phase = _POD_PHASES.get(pod.phase or "", phases.PENDING)
    terminated = pod.terminated
    is_ready = pod.ready.get("status") == "True"
    reason = pod.reason or terminated.get("reason")
    message = pod.message or terminated.get("message")
    if phase == phases.FAILED and not message and "exitCode" in terminated:
        message = f"container exited with code {terminated['exitCode']}"
    finished = phase in phases.FINISHED_PHASES
    # None clears a field in a JSON merge patch, which is what a vanished value means.
    status: dict[str, Any] = {
        "phase": phase,
        "podName": pod.name,
        "podIP": pod.ip,
        "startTime": pod.start_time,
        "completionTime": (terminated.get("finishedAt") or now) if finished else None,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "conditions": [{
            "type": resource.CONDITION_READY,
            "status": "True" if is_ready else "False",
            "reason": "PodReady" if is_ready else (reason or f"Pod{phase}"),
            "message": message or f"pod {pod.name} is {phase.lower()}",
            "lastTransitionTime": pod.ready.get("lastTransitionTime") or now,
            "observedGeneration": generation,
        }],
    }
    if pod.resources:
        status["resources"] = dict(pod.resources)
    return status


def status_from_pod(pod: Mapping[str, Any], *, now: str) -> dict[str, Any]:
    """status_from_state of a Pod as the API server sends it."""
    return status_from_state(pod_state(pod), now=now)


def status_key(status: Mapping[str, Any]) -> tuple[Any, ...]:
    """The part of a job status that a pod event can change; timestamps excepted, which
    a pod event recomputes without meaning a change."""
    ready = next((c.get("status") for c in status.get("conditions") or []
                  if c.get("type") == resource.CONDITION_READY), None)
    pods = tuple((p.get("name"), p.get("phase"), p.get("podIP"), p.get("reason")) for p in status.get("pods") or [])
    return (status.get("phase"), status.get("podName"), status.get("podIP"), ready,
            status.get("reason"), status.get("message"), status.get("completionTime") is not None, pods)


# -- a distributed job: one status of all its Pods ----------------------------------------------


def _exit_code(pod: PodState) -> int | None:
    code = pod.terminated.get("exitCode")
    return int(code) if isinstance(code, int) else None


def _pod_entry(member: Member, job: str, pod: PodState | None) -> dict[str, Any]:
    """One Pod of a distributed job in its status.pods (JobDetail's jobStatusDetail)."""
    entry: dict[str, Any] = {"name": member.pod_name(job), "role": member.role, "index": member.index,
                             "host": member.host, "phase": (pod.phase or phases.PENDING) if pod else phases.PENDING}
    if pod is not None:
        entry.update({k: v for k, v in (("podIP", pod.ip), ("reason", pod.reason or pod.terminated.get("reason")),
                                        ("message", pod.message), ("exitCode", _exit_code(pod))) if v is not None})
    return entry


def distributed_phase(job: str, shape: tuple[int, int], pods: Mapping[str, PodState]
                      ) -> tuple[str, str | None, str | None]:
    """(phase, reason, message) of a distributed job from its live Pods by name: failed as
    soon as any Pod has failed, finished once every worker has exited 0, running while
    every Pod runs (or, a worker, has finished), else pending with the scheduler's word."""
    members = distributed.members(*shape)
    for member in members:
        pod = pods.get(member.pod_name(job))
        if pod is not None and pod.phase == "Failed":
            code = _exit_code(pod)
            why = f"exited with code {code}" if code is not None else (pod.message or pod.reason or "failed")
            return phases.FAILED, pod.reason or pod.terminated.get("reason") or "PodFailed", (
                f"pod {member.pod_name(job)} ({member.host}) failed: {why}; the job's other pods are stopped")
    workers = [pods.get(m.pod_name(job)) for m in members if m.role == distributed.WORKER]
    if all(w is not None and w.phase == "Succeeded" for w in workers):
        return phases.SUCCEEDED, "WorkersSucceeded", "every worker exited 0; the parameter servers are stopped"
    if all((p := pods.get(m.pod_name(job))) is not None and (
            p.phase == "Running" or (p.phase == "Succeeded" and m.role == distributed.WORKER)) for m in members):
        return phases.RUNNING, None, None
    waiting = next((p for m in members if (p := pods.get(m.pod_name(job))) is not None and p.reason), None)
    if waiting is None:
        return phases.PENDING, None, None
    return phases.PENDING, waiting.reason, f"pod {waiting.name}: {waiting.message or waiting.reason}"


def distributed_status(job: str, shape: tuple[int, int], pods: Mapping[str, PodState], *, now: str
                       ) -> dict[str, Any]:
    """The status of a distributed job from its live Pods by name. podName and podIP are
    ps-0's (GetJobIP's answer); pods lists each, readyPods counts the ready ones."""
    members = distributed.members(*shape)
    phase, reason, message = distributed_phase(job, shape, pods)
    first = pods.get(members[0].pod_name(job))
    ready = sum(1 for m in members if (p := pods.get(m.pod_name(job))) is not None
                and p.ready.get("status") == "True")
    finished = phase in phases.FINISHED_PHASES
    ends = [str(t) for p in pods.values() if (t := p.terminated.get("finishedAt"))]
    generation = int(first.generation) if first is not None and first.generation is not None else 1
    all_ready = ready == len(members)
    status: dict[str, Any] = {
        "phase": phase,
        "podName": members[0].pod_name(job),
        "podIP": first.ip if first is not None else None,
        "startTime": first.start_time if first is not None else None,
        "completionTime": (max(ends) if ends else now) if finished else None,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "readyPods": f"{ready}/{len(members)}",
        "pods": [_pod_entry(m, job, pods.get(m.pod_name(job))) for m in members],
        "conditions": [{
            "type": resource.CONDITION_READY,
            "status": "True" if all_ready else "False",
            "reason": "PodsReady" if all_ready else (reason or f"Pods{phase}"),
            "message": message or f"{ready} of {len(members)} pods ready",
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }],
    }
    if first is not None and first.resources:
        status["resources"] = dict(first.resources)
    return status


def pods_to_stop(job: str, shape: tuple[int, int], phase: str | None,
                 pods: Mapping[str, PodState]) -> tuple[PodState, ...]:
    """The live Pods a finished distributed job stops: after a failure every other one,
    after the workers' success the parameter servers."""
    if phase not in phases.FINISHED_PHASES:
        return ()
    return tuple(p for m in distributed.members(*shape)
            if (p := pods.get(name := m.pod_name(job))) is not None and not p.deleting
            and p.phase not in ("Succeeded", "Failed")
            and (phase == phases.FAILED or m.role == distributed.PS))


def killing_status() -> dict[str, Any]:
    return {
        "phase": phases.KILLING,
        "reason": "Killing",
        "message": "the job is being deleted with its pod and every job it submitted",
    }


def withheld_status(job: str, dying: str) -> dict[str, Any]:
    """A job given no Pod because it, or `dying` above it, is being killed or is gone:
    Killing, which it is, since the garbage collector deletes it with that job."""
    whose = "the job" if dying == job else f"job {dying} above it"
    return {
        "phase": phases.KILLING,
        "reason": "Killing" if dying == job else "AncestorKilled",
        "message": f"no pod was made: {whose} is being killed or is gone, and this job goes with it",
    }


def pod_lost_status(pod_name: str, *, now: str) -> dict[str, Any]:
    return {
        "phase": phases.FAILED, "completionTime": now,
        "reason": "PodDeleted",
        "message": f"pod {pod_name} was deleted while the job was not being killed",
    }


def refused_status(reason: str, message: str, *, now: str) -> dict[str, Any]:
    """completionTime: when it ended, from which ttlSecondsAfterFinished counts."""
    return {"phase": phases.FAILED, "reason": reason, "message": message, "completionTime": now}


def waiting_status(reason: str, message: str, resources: Mapping[str, str], *, now: str) -> dict[str, Any]:
    """A job whose Pod the API server refused for now (ExceededQuota): Pending without a
    Pod, saying why, with the resources its Pod asks for (what the quota refused)."""
    return {
        "phase": phases.PENDING, "reason": reason, "message": message, "resources": dict(resources),
        "conditions": [{"type": resource.CONDITION_READY, "status": "False", "reason": reason,
                        "message": message, "lastTransitionTime": now}],
    }
