"""Kubernetes Events about a job: a pure builder. The handlers and the pod mirror post
them through event_poster.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from dlws_contract import resource

COMPONENT: Final = "dlws-operator"
MESSAGE_LIMIT: Final = 1024  # the API server refuses longer Event messages


@dataclass(frozen=True)
class JobRef:
    namespace: str
    name: str
    uid: str


def job_event(job: JobRef, *, type: str, reason: str, message: str, now: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"namespace": job.namespace, "generateName": f"{job.name}."},
        "involvedObject": {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
                           "namespace": job.namespace, "name": job.name, "uid": job.uid},
        "type": type, "reason": reason, "message": message[:MESSAGE_LIMIT],
        "source": {"component": COMPONENT}, "reportingComponent": COMPONENT,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    }
