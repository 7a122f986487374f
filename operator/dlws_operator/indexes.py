"""What the operator remembers of jobs between events: our own list + watch of DLWSJobs
(dlws_contract.list_watch), so handlers answer "is this job being deleted?" or "is its
status already this?" without a call to the API server. The pod mirror and the lifecycle
read it through job_view.JobLookup.

Not kopf's index: kopf updates an index in each object's own worker, so it can hold a
job's create before an earlier kill of its parent. One watch is one stream in etcd's
order: once it has delivered a job, it has applied every write made before that job,
which is what ancestry.py needs to know, without asking the API server.
"""
import asyncio
from collections.abc import Mapping
from typing import Any

from kubernetes.aio.client.api_client import ApiClient

from dlws_contract import kube_api, resource
from dlws_contract.change_waiters import ChangeWaiters
from dlws_contract.list_watch import ListWatch
from dlws_operator.job_view import JobView, job_view


Key = tuple[str, str]  # (namespace, name)
Keyed = tuple[Key, JobView]


def keyed_view(obj: Mapping[str, Any]) -> Keyed:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace", "")), str(meta.get("name", ""))), job_view(meta, obj.get("status") or {},
                                                                                 obj.get("spec") or {})


class WatchedJobs:
    """job_view.JobLookup over a list + watch of DLWSJobs per namespace watched (one for
    all when none is named); a family lives in one namespace, so one stream orders its writes."""

    def __init__(self, api: ApiClient, *, namespaces: list[str], request_timeout: float) -> None:
        self._views: dict[Key, JobView] = {}
        self._waiters: ChangeWaiters[Key] = ChangeWaiters()
        self.changed = asyncio.Event()  # set on every change; cleared by its one reader (cleanup.py)
        self.watches: list[ListWatch[Keyed]] = [
            ListWatch(api, kube_api.collection_path(resource.GROUP, resource.VERSION, resource.PLURAL, ns),
                      _Feed(self, ns), keyed_view, request_timeout=request_timeout, what="DLWSJobs")
            for ns in (namespaces or [None])]  # type: ignore[list-item]  # None: every namespace

    async def run(self) -> None:
        """Runs until cancelled."""
        async with asyncio.TaskGroup() as group:
            for watch in self.watches:
                group.create_task(watch.run())

    def view(self, namespace: str, name: str) -> JobView | None:
        return self._views.get((namespace, name))

    async def complete(self) -> None:
        for watch in self.watches:
            await watch.synced.wait()

    async def delivered(self, namespace: str, name: str, uid: str, timeout: float) -> bool:
        def held() -> bool:
            view = self._views.get((namespace, name))
            return view is not None and view.uid == uid
        return await self._waiters.until((namespace, name), held, timeout)

    def views(self) -> dict[Key, JobView]:
        return self._views

    def set_view(self, key: Key, view: JobView | None) -> None:
        self.changed.set()
        if view is None:
            self._views.pop(key, None)
        else:
            self._views[key] = view
        self._waiters.notify(key)

    def replace(self, namespace: str | None, fresh: dict[Key, JobView]) -> None:
        """A (re)list of one namespace (None: of all): whatever is not in it is gone."""
        for key in [k for k in self._views if k not in fresh and namespace in (None, k[0])]:
            self.set_view(key, None)
        for key, view in fresh.items():
            self.set_view(key, view)


class _Feed:
    """The ListWatch cache protocol over WatchedJobs, for the watch of one namespace (None:
    of all)."""

    def __init__(self, jobs: WatchedJobs, namespace: str | None) -> None:
        self.jobs = jobs
        self.namespace = namespace

    def replace_all(self, objects: list[Keyed]) -> None:
        self.jobs.replace(self.namespace, dict(objects))

    def upsert(self, obj: Keyed) -> None:
        self.jobs.set_view(*obj)

    def remove(self, obj: Keyed) -> None:
        self.jobs.set_view(obj[0], None)
