"""DLWSJob status, mirrored from its Pod: pure functions of the Pod."""
from collections.abc import Mapping
from typing import Any

from dlws_contract import phases, resource
from dlws_operator.pod_spec import GENERATION_ANNOTATION

_POD_PHASES = {
    "Pending": phases.PENDING,
    "Running": phases.RUNNING,
    "Succeeded": phases.SUCCEEDED,
    "Failed": phases.FAILED,
}


def _condition(pod_status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for c in pod_status.get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return {}


def _terminated(pod_status: Mapping[str, Any]) -> Mapping[str, Any]:
    for cs in pod_status.get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated")
        if term:
            return dict(term)
    return {}


def status_from_pod(pod: Mapping[str, Any], *, now: str) -> dict[str, Any]:
    """The job status a Pod implies. `now` stamps conditions the Pod has no time for.
    A job being killed is not mirrored from its Pod: killing_status() says what it shows."""
    pod_status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    generation = int((meta.get("annotations") or {}).get(GENERATION_ANNOTATION, "1"))
    phase = _POD_PHASES.get(pod_status.get("phase", ""), phases.PENDING)
    terminated = _terminated(pod_status)
    ready = _condition(pod_status, "Ready")
    is_ready = ready.get("status") == "True"
    reason = pod_status.get("reason") or terminated.get("reason")
    message = pod_status.get("message") or terminated.get("message")
    if phase == phases.FAILED and not message and "exitCode" in terminated:
        message = f"container exited with code {terminated['exitCode']}"
    status: dict[str, Any] = {
        "phase": phase,
        "podName": meta.get("name"),
        "podIP": pod_status.get("podIP"),
        "startTime": pod_status.get("startTime"),
        "completionTime": terminated.get("finishedAt") if phase in phases.FINISHED_PHASES else None,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "conditions": [{
            "type": resource.CONDITION_READY,
            "status": "True" if is_ready else "False",
            "reason": "PodReady" if is_ready else (reason or f"Pod{phase}"),
            "message": message or f"pod {meta.get('name')} is {phase.lower()}",
            "lastTransitionTime": ready.get("lastTransitionTime") or now,
            "observedGeneration": generation,
        }],
    }
    if not status["completionTime"] and phase in phases.FINISHED_PHASES:
        status["completionTime"] = now
    # None clears a field in a JSON merge patch, which is what a vanished value means.
    return status


def killing_status() -> dict[str, Any]:
    return {
        "phase": phases.KILLING,
        "reason": "Killing",
        "message": "the job is being deleted with its pod and every job it submitted",
    }


def pod_lost_status(pod_name: str) -> dict[str, Any]:
    return {
        "phase": phases.FAILED,
        "reason": "PodDeleted",
        "message": f"pod {pod_name} was deleted while the job was not being killed",
    }


def refused_status(reason: str, message: str) -> dict[str, Any]:
    return {"phase": phases.FAILED, "reason": reason, "message": message}
