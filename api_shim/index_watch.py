"""Feeds the shim's JobIndex from a list + watch of DLWSJobs (dlws_contract.list_watch).
The shim never scans jobs per request: this one stream is its only read of the cluster
at large."""
from __future__ import annotations

from kubernetes.aio.client.api_client import ApiClient

from api_shim.job_index import JobIndex
from api_shim.records import record_from_object
from dlws_contract import kube_api, resource
from dlws_contract.list_watch import ListWatch, Object


class JobIndexCache:
    """The ListWatch cache protocol over a JobIndex: objects become JobRecords."""

    def __init__(self, index: JobIndex) -> None:
        self.index = index

    def replace_all(self, objects: list[Object]) -> None:
        self.index.replace_all(record_from_object(o) for o in objects)

    def upsert(self, obj: Object) -> None:
        self.index.upsert(record_from_object(obj))

    def remove(self, obj: Object) -> None:
        meta = obj.get("metadata") or {}
        self.index.remove(str(meta.get("namespace", "")), str(meta.get("name", "")))


def index_watcher(api: ApiClient, index: JobIndex, *, namespace: str | None,
                  request_timeout: float) -> ListWatch:
    path = kube_api.collection_path(resource.GROUP, resource.VERSION, resource.PLURAL, namespace)
    return ListWatch(api, path, JobIndexCache(index), request_timeout=request_timeout, what="DLWSJobs")
