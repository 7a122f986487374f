"""Kubernetes Events about a job, built here (pure) and posted by event_poster.py under one
reporting component; kopf posts only its own warnings about failing handlers."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dlws_contract import resource

COMPONENT: Final = "dlws-operator"
MESSAGE_LIMIT: Final = 1024  # the API server refuses longer Event messages

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class JobRef:
    namespace: str
    name: str
    uid: str

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> JobRef:
        return cls(meta["namespace"], meta["name"], meta["uid"])


def job_event(job: JobRef, *, type: str, reason: str, message: str, now: str) -> Event:
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"namespace": job.namespace, "generateName": f"{job.name}."},
        "involvedObject": {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
                           "namespace": job.namespace, "name": job.name, "uid": job.uid},
        "type": type, "reason": reason, "message": message[:MESSAGE_LIMIT],
        "source": {"component": COMPONENT}, "reportingComponent": COMPONENT,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    }
