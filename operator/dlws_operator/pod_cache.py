"""The jobs' Pods as the operator remembers them (a ListWatch cache, see pod_mirror.py):
each Pod's PodState, and the key of each Pod that changed queued, not its event: a Pod that
changes five times before a worker gets to it needs one visit, to its latest state."""
from dataclasses import dataclass

from dlws_operator.status import PodState
from dlws_operator.work_queue import KeyQueue

PodKey = tuple[str, str]  # (namespace, pod name)


def pod_key(pod: PodState) -> PodKey:
    return pod.namespace, pod.name


@dataclass(frozen=True)
class Change:
    pod: PodState
    deleted: bool


class PodCache:
    """Implements dlws_contract.list_watch.Cache. A deleted Pod is kept (as a tombstone)
    until a worker has handled its deletion, so a deletion is never missed."""

    def __init__(self, queue: KeyQueue[PodKey]) -> None:
        self.queue = queue
        self._live: dict[PodKey, PodState] = {}
        self._gone: dict[PodKey, PodState] = {}
        # The live Pods of each distributed job, by (namespace, job name): its status is
        # made from all of them.
        self._members: dict[PodKey, set[str]] = {}

    def _index(self, pod: PodState, present: bool) -> None:
        if pod.member is None or pod.owner is None:
            return
        job = (pod.namespace, pod.owner.name)
        if present:
            self._members.setdefault(job, set()).add(pod.name)
        elif job in self._members:
            self._members[job].discard(pod.name)
            if not self._members[job]:
                del self._members[job]

    def job_pods(self, namespace: str, job: str, uid: str) -> dict[str, PodState]:
        """The live Pods of a distributed job (this uid's), by name."""
        found = (self._live.get((namespace, name)) for name in self._members.get((namespace, job), ()))
        return {p.name: p for p in found if p is not None and p.owner is not None and p.owner.uid == uid}

    def replace_all(self, objects: list[PodState]) -> None:
        fresh = {pod_key(o): o for o in objects}
        self._members = {}
        for pod in fresh.values():
            self._index(pod, True)
        for key in self._live.keys() - fresh.keys():  # deleted while the watch was down
            self._gone[key] = self._live[key]
            self.queue.add(key)
        for key, pod in fresh.items():
            self._gone.pop(key, None)
            if self._live.get(key) != pod:
                self.queue.add(key)
        self._live = fresh

    def upsert(self, pod: PodState) -> None:
        key = pod_key(pod)
        self._gone.pop(key, None)
        if self._live.get(key) != pod:  # e.g. a change to a field the operator ignores
            self._live[key] = pod
            self._index(pod, True)
            self.queue.add(key)

    def remove(self, pod: PodState) -> None:
        key = pod_key(pod)
        self._gone[key] = pod
        self._live.pop(key, None)
        self._index(pod, False)
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
        return pod.owner.uid if pod.owner else ""
