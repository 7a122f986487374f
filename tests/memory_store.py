"""A JobStore held in memory: for tests of the HTTP layer, and for the reliability runs
that need a shim without a cluster. It is not Kubernetes: no schema, no admission, no garbage collector.

It keeps whole objects, and feeds the same JobIndex the watch feeds in production, at
the moment of each change (as a watch with no delay would).
"""
from __future__ import annotations

import copy
import datetime
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from api_shim.job_index import JobIndex
from api_shim.kill_index import KillIndex
from api_shim.records import record_from_object
from api_shim.store import Deleted, Exists, Rejected
from dlws_contract import phases, resource
from dlws_contract.kill_record import parse_record


class MemoryJobStore:
    def __init__(self) -> None:
        self._index = JobIndex()
        self._index.synced = True
        # Kill records (ConfigMaps in Kubernetes), fed into this index as they are made.
        self.kills = KillIndex()
        self.kills.synced = True
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        # What each Pod (namespace, name) has printed; a job without one has no Pod.
        self.pod_logs: dict[tuple[str, str], bytes] = {}
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[str] = []           # "read ns/name", "create ns/name", ...
        self.fail_next: Exception | None = None  # raised by the next call, once
        # When True, creates, deletes and vanishings are not indexed: the watch has not
        # delivered them yet, while reads (quorum reads in production) see them.
        self.index_lag = False
        # Called inside the next creates, before the object is stored: a write that lands
        # on the API server just before a create (a kill, say).
        self.before_create: Callable[[], None] | None = None

    @property
    def index(self) -> JobIndex:
        return self._index

    def _call(self, what: str) -> None:
        self.calls.append(what)
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    def put(self, obj: Mapping[str, Any], *, indexed: bool = True) -> dict[str, Any]:
        """Stores an object as if some client had made it (a test's root job, say)."""
        stored = copy.deepcopy(dict(obj))
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp",
                        datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.objects[(meta["namespace"], meta["name"])] = stored
        if indexed:
            self._index.upsert(record_from_object(stored))
        return stored

    def set_status(self, namespace: str, name: str, **status: Any) -> None:
        obj = self.objects[(namespace, name)]
        obj.setdefault("status", {}).update(status)
        self._index.upsert(record_from_object(obj))

    def add_root(self, namespace: str, name: str, token_digest: str, **spec: Any) -> dict[str, Any]:
        """A root whose family the operator has made (label and status.familyDigest)."""
        return self.put({
            "apiVersion": resource.API_VERSION, "kind": resource.KIND,
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {resource.LABEL_FAMILY: token_digest, resource.LABEL_ROOT: name}},
            "spec": {"jobName": name, "image": "busybox", "jobType": "training",
                     "userName": "alice", "userId": 1000, **spec},
            "status": {"familyDigest": token_digest, "phase": phases.RUNNING},
        })

    async def read(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        self._call(f"read {namespace}/{name}")
        obj = self.objects.get((namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    async def create(self, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        name = body["metadata"]["name"]
        self._call(f"create {namespace}/{name}")
        if (namespace, name) in self.objects:
            raise Exists(f"dlwsjobs {name!r} already exists")
        if body["metadata"].get("namespace", namespace) != namespace:
            raise Rejected("the namespace of the provided object does not match the request")
        if self.before_create is not None:
            self.before_create()
        return copy.deepcopy(self.put(body, indexed=not self.index_lag))

    async def delete(self, namespace: str, name: str, uid: str) -> Deleted:
        self._call(f"delete {namespace}/{name}")
        obj = self.objects.get((namespace, name))
        if obj is None or obj["metadata"]["uid"] != uid:
            return Deleted.GONE
        # Foreground deletion, at its start: the job shows as being deleted.
        obj["metadata"].setdefault("deletionTimestamp",
                                   datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        if not self.index_lag:
            self._index.upsert(record_from_object(obj))
        return Deleted.ACCEPTED

    async def record_kill(self, namespace: str, body: Mapping[str, Any]) -> None:
        name = body["metadata"]["name"]
        self._call(f"record {namespace}/{name}")
        if (namespace, name) not in self.records:
            self.records[(namespace, name)] = copy.deepcopy(dict(body))
            if (record := parse_record(body)) is not None:
                self.kills.add(record)

    async def read_log(self, namespace: str, pod: str, container: str, tail_lines: int) -> bytes | None:
        self._call(f"log {namespace}/{pod}")
        printed = self.pod_logs.get((namespace, pod))
        return None if printed is None else b"".join(printed.splitlines(keepends=True)[-tail_lines:])

    def mark_deleting(self, namespace: str, name: str) -> None:
        """A foreground delete begun by some other client, seen by the index at once."""
        obj = self.objects[(namespace, name)]
        obj["metadata"].setdefault("deletionTimestamp",
                                   datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self._index.upsert(record_from_object(obj))

    def vanish(self, namespace: str, name: str) -> None:
        """The end of a deletion: the object is gone."""
        self.objects.pop((namespace, name), None)
        if not self.index_lag:
            self._index.remove(namespace, name)
