"""The kill records (dlws_contract.kill_record) by the jobs they name, kept by a list +
watch of ConfigMaps labelled as records: JobDetail and GetJobIP of a killed job, even
once the garbage collector has removed it, answer without an API call. On the event
loop, one call at a time: no locks."""
from __future__ import annotations

from dataclasses import dataclass

from kubernetes.aio.client.api_client import ApiClient

from dlws_contract import kube_api
from dlws_contract.kill_record import SELECTOR, KilledJob, KillRecord, parse_record
from dlws_contract.list_watch import ListWatch

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class Killed:
    """A job a kill took, and the kill."""
    job: KilledJob
    record: KillRecord


class KillIndex:
    def __init__(self) -> None:
        self._records: dict[Key, KillRecord] = {}   # by the job each record names
        self._jobs: dict[Key, Killed] = {}
        self.synced = False  # True once the records have been listed

    def __len__(self) -> int:
        return len(self._records)

    def get(self, namespace: str, job: str) -> Killed | None:
        return self._jobs.get((namespace, job))

    def add(self, record: KillRecord) -> None:
        self.drop(record.namespace, record.killed)
        self._records[(record.namespace, record.killed)] = record
        for job in record.jobs:
            known = self._jobs.get((record.namespace, job.name))
            # Two kills of one job (a child's, then its parent's): the first one took it.
            if known is None or record.killed_at < known.record.killed_at:
                self._jobs[(record.namespace, job.name)] = Killed(job, record)

    def clear(self) -> None:
        self._records.clear()
        self._jobs.clear()

    def drop(self, namespace: str, killed: str) -> None:
        old = self._records.pop((namespace, killed), None)
        if old is None:
            return
        for job in old.jobs:
            if (known := self._jobs.get((namespace, job.name))) is not None and known.record is old:
                del self._jobs[(namespace, job.name)]
                # Another record may name it too.
                for other in self._records.values():
                    if other.namespace == namespace and any(j.name == job.name for j in other.jobs):
                        self.add(other)
                        break


class _Feed:
    """The ListWatch cache protocol over a KillIndex."""

    def __init__(self, index: KillIndex) -> None:
        self.index = index

    def replace_all(self, objects: list[KillRecord | None]) -> None:
        self.index.clear()
        for record in objects:
            if record is not None:
                self.index.add(record)
        self.index.synced = True

    def upsert(self, obj: KillRecord | None) -> None:
        if obj is not None:
            self.index.add(obj)

    def remove(self, obj: KillRecord | None) -> None:
        if obj is not None:
            self.index.drop(obj.namespace, obj.killed)


def kill_watcher(api: ApiClient, index: KillIndex, *, namespace: str | None,
                 request_timeout: float) -> ListWatch[KillRecord | None]:
    path = kube_api.collection_path("", "v1", "configmaps", namespace)
    return ListWatch(api, path, _Feed(index), parse_record, request_timeout=request_timeout,
                     label_selector=SELECTOR, what="kill records")
