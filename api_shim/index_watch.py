"""Feeds the shim's JobIndex from a list + watch of DLWSJobs (dlws_contract.list_watch).
The shim never scans jobs per request: this one stream is its only read of the cluster
at large."""
from __future__ import annotations

from kubernetes.aio.client.api_client import ApiClient

from api_shim.job_index import JobIndex
from api_shim.records import JobRecord, record_from_object
from dlws_contract import kube_api, resource
from dlws_contract.list_watch import ListWatch


class JobIndexCache:
    """The ListWatch cache protocol over a JobIndex, which keeps JobRecords."""

    def __init__(self, index: JobIndex) -> None:
        self.index = index

    def replace_all(self, objects: list[JobRecord]) -> None:
        self.index.replace_all(objects)

    def upsert(self, obj: JobRecord) -> None:
        self.index.upsert(obj)

    def remove(self, obj: JobRecord) -> None:
        self.index.remove(obj.namespace, obj.name)


def index_watcher(api: ApiClient, index: JobIndex, *, namespace: str | None,
                  request_timeout: float) -> ListWatch[JobRecord]:
    path = kube_api.collection_path(resource.GROUP, resource.VERSION, resource.PLURAL, namespace)
    return ListWatch(api, path, JobIndexCache(index), record_from_object, request_timeout=request_timeout,
                     what="DLWSJobs")
