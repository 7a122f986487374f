"""The jobs' Pods by address, fed by a list + watch of the Pods that carry a job label.

SubmitJob reads it to tell which job of a family is calling (callers.py), and GetJobIP a
job's address as soon as its Pod has one (job_address.py). Synchronous
bookkeeping on the event loop, like JobIndex; only wait_for_change awaits.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from kubernetes.aio.client.api_client import ApiClient

from api_shim.records import PodRecord, pod_record_from_object
from dlws_contract import kube_api, resource
from dlws_contract.change_waiters import ChangeWaiters
from dlws_contract.list_watch import ListWatch

Key = tuple[str, str]  # (namespace, pod name)
_ANY = "any"  # one key for the waiters: a request waits for whichever Pod changes next


class PodIndex:
    def __init__(self) -> None:
        self._pods: dict[Key, PodRecord] = {}
        self._by_address: dict[str, set[Key]] = {}
        # Pods whose address the kubelet has not reported yet (PodRecord.starting).
        self._starting: set[Key] = set()
        self._waiters: ChangeWaiters[str] = ChangeWaiters()
        self.synced = False

    def __len__(self) -> int:
        return len(self._pods)

    def get(self, namespace: str, name: str) -> PodRecord | None:
        return self._pods.get((namespace, name))

    def at(self, address: str) -> list[PodRecord]:
        return [self._pods[key] for key in self._by_address.get(address, ())]

    @property
    def waiting(self) -> bool:
        """Whether a request waits for the next change."""
        return bool(self._waiters)

    def starting(self) -> Iterator[PodRecord]:
        return (self._pods[key] for key in self._starting)

    # --- fed by the watch (the ListWatch Cache protocol) --------------------------------

    def upsert(self, pod: PodRecord) -> None:
        old = self._pods.get(pod.key)
        if old == pod:
            return
        if old is not None:
            self._unlink(old)
        self._pods[pod.key] = pod
        for address in pod.ips:
            self._by_address.setdefault(address, set()).add(pod.key)
        if pod.starting:
            self._starting.add(pod.key)
        self._notify(pod.key)

    def remove(self, pod: PodRecord) -> None:
        old = self._pods.pop(pod.key, None)
        if old is not None:
            self._unlink(old)
            self._notify(pod.key)

    def replace_all(self, pods: Iterable[PodRecord]) -> None:
        fresh = {pod.key: pod for pod in pods}
        for key in [k for k in self._pods if k not in fresh]:
            self.remove(self._pods[key])
        for pod in fresh.values():
            self.upsert(pod)
        self.synced = True

    def _unlink(self, pod: PodRecord) -> None:
        for address in pod.ips:
            keys = self._by_address.get(address)
            if keys is not None:
                keys.discard(pod.key)
                if not keys:
                    del self._by_address[address]
        self._starting.discard(pod.key)

    def _notify(self, key: Key) -> None:
        self._waiters.notify(_ANY)
        self._waiters.notify(f"{key[0]}/{key[1]}")

    async def wait_for_change(self, timeout: float) -> bool:
        """Waits until any Pod is added, changed or removed; False if timeout passed first."""
        return await self._waiters.wait(_ANY, timeout)

    async def wait_for_pod(self, namespace: str, name: str, timeout: float) -> bool:
        """Waits until this Pod is added, changed or removed; False if timeout passed first."""
        return await self._waiters.wait(f"{namespace}/{name}", timeout)


def pod_watcher(api: ApiClient, pods: PodIndex, *, namespace: str | None,
                request_timeout: float) -> ListWatch[PodRecord]:
    path = kube_api.collection_path("", "v1", "pods", namespace)
    return ListWatch(api, path, pods, pod_record_from_object, request_timeout=request_timeout,
                     label_selector=resource.LABEL_JOB, what="job Pods")
