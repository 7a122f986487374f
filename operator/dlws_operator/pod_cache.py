"""The jobs' Pods as the operator remembers them: a ListWatch cache (see pod_events.py)
that keeps a slim copy of each Pod and queues the key of every Pod that changed.

Slim, because the operator reads a handful of a Pod's fields, and a full Pod parsed into
Python is tens of kilobytes; keys, not event bodies, because a Pod that changes five
times before a worker gets to it needs one visit, to its latest state.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlws_contract import resource
from dlws_operator.pod_spec import GENERATION_ANNOTATION
from dlws_operator.work_queue import KeyQueue

PodKey = tuple[str, str]  # (namespace, pod name)
Pod = dict[str, Any]


def pod_key(pod: Mapping[str, Any]) -> PodKey:
    meta = pod.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def controller_ref(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference of the DLWSJob that controls the Pod, if one does."""
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == resource.KIND and ref.get("controller"):
            return dict(ref)
    return None


def slim_pod(pod: Mapping[str, Any]) -> Pod:
    """What status_from_pod, the mirror and run_job read of a Pod, and nothing else."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    owner = controller_ref(pod)
    generation = (meta.get("annotations") or {}).get(GENERATION_ANNOTATION)
    slim_meta: dict[str, Any] = {"name": meta.get("name"), "namespace": meta.get("namespace")}
    if owner is not None:
        slim_meta["ownerReferences"] = [owner]
    if generation is not None:
        slim_meta["annotations"] = {GENERATION_ANNOTATION: generation}
    if meta.get("deletionTimestamp"):
        slim_meta["deletionTimestamp"] = meta["deletionTimestamp"]
    slim_status = {k: status[k] for k in ("phase", "podIP", "startTime", "reason", "message") if k in status}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    if ready:
        slim_status["conditions"] = ready
    terminated = [{"state": {"terminated": t}} for cs in status.get("containerStatuses") or []
                  if (t := (cs.get("state") or {}).get("terminated"))]
    if terminated:
        slim_status["containerStatuses"] = terminated
    return {"metadata": slim_meta, "status": slim_status}


@dataclass(frozen=True)
class Change:
    pod: Pod
    deleted: bool


class PodCache:
    """Implements dlws_contract.list_watch.Cache. A deleted Pod is kept (as a tombstone)
    until a worker has handled its deletion, so a deletion is never missed."""

    def __init__(self, queue: KeyQueue[PodKey]) -> None:
        self.queue = queue
        self._live: dict[PodKey, Pod] = {}
        self._gone: dict[PodKey, Pod] = {}

    # The ListWatch hands over slim pods (its `keep` is slim_pod).
    def replace_all(self, objects: list[Pod]) -> None:
        fresh = {pod_key(o): o for o in objects}
        for key in self._live.keys() - fresh.keys():  # deleted while the watch was down
            self._gone[key] = self._live[key]
            self.queue.add(key)
        for key, pod in fresh.items():
            self._gone.pop(key, None)
            if self._live.get(key) != pod:
                self.queue.add(key)
        self._live = fresh

    def upsert(self, pod: Pod) -> None:
        key = pod_key(pod)
        self._gone.pop(key, None)
        if self._live.get(key) != pod:  # e.g. a change to a field the operator ignores
            self._live[key] = pod
            self.queue.add(key)

    def remove(self, pod: Pod) -> None:
        key = pod_key(pod)
        self._gone[key] = pod
        self._live.pop(key, None)
        self.queue.add(key)

    def change(self, key: PodKey) -> Change | None:
        """The latest state of a queued Pod."""
        if key in self._live:
            return Change(self._live[key], deleted=False)
        if key in self._gone:
            return Change(self._gone[key], deleted=True)
        return None

    def forget(self, key: PodKey, change: Change) -> None:
        """A handled deletion; unless the Pod has been made again since."""
        if change.deleted and self._gone.get(key) is change.pod:
            del self._gone[key]

    def owner_uid(self, namespace: str, pod_name: str) -> str | None:
        """The uid of the DLWSJob controlling this live Pod ("" if none), or None if no such Pod."""
        pod = self._live.get((namespace, pod_name))
        if pod is None:
            return None
        owner = controller_ref(pod)
        return str(owner.get("uid", "")) if owner else ""
