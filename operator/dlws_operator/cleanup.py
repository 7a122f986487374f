"""Deletes ended families ttlSecondsAfterFinished after their end (decisions.cleanup says
which), and kill records once they expire (decisions.record_due_at). One task beside kopf:
it wakes when the job watch changes something or the next job falls due, never polls the
API server, and deletes in the background (the garbage collector takes the rest).
"""
import asyncio
import logging
import math
import time
from collections.abc import Mapping
from typing import Any, Final

from kubernetes.aio.client.api_client import ApiClient

from dlws_contract import kube_api
from dlws_contract.kill_record import SELECTOR, parse_record
from dlws_contract.kube_api import Kube, core_path, job_path
from dlws_contract.list_watch import ListWatch
from dlws_operator import decisions
from dlws_operator.indexes import WatchedJobs

log = logging.getLogger(__name__)

Key = tuple[str, str]
# Wakes at least this often (a clock that jumped), and waits this long after a change
# so that the events of one family's end are decided on together.
MAX_SLEEP: Final = 60.0
SETTLE: Final = 1.0


class KillRecords:
    """The kill records' names, uids and times: a ListWatch cache."""

    def __init__(self) -> None:
        self.records: dict[Key, tuple[str, float, int | None]] = {}

    @staticmethod
    def keep(obj: Mapping[str, Any]) -> tuple[Key, tuple[str, float, int | None]] | None:
        meta = obj.get("metadata") or {}
        record = parse_record(obj)
        if record is None:
            return None
        try:
            at = kube_api.parse_timestamp(record.killed_at).timestamp()
        except ValueError:
            at = 0.0
        return (str(meta.get("namespace")), str(meta.get("name"))), (str(meta.get("uid")), at, record.ttl)

    def replace_all(self, objects: list[Any]) -> None:
        self.records = dict(o for o in objects if o is not None)

    def upsert(self, obj: Any) -> None:
        if obj is not None:
            self.records[obj[0]] = obj[1]

    def remove(self, obj: Any) -> None:
        if obj is not None:
            self.records.pop(obj[0], None)


class Cleanup:
    def __init__(self, api: ApiClient, kube: Kube, jobs: WatchedJobs, *, default_ttl: int | None,
                 namespaces: list[str], request_timeout: float) -> None:
        self.kube = kube
        self.jobs = jobs
        self.default_ttl = default_ttl
        self.kills = KillRecords()
        self.watches = [ListWatch(api, kube_api.collection_path("", "v1", "configmaps", ns), self.kills,
                                  KillRecords.keep, request_timeout=request_timeout, label_selector=SELECTOR,
                                  what="kill records")
                        for ns in (namespaces or [None])]  # type: ignore[list-item]
        self.requested: set[str] = set()  # uids deleted already, until the watch says they are gone

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for watch in self.watches:
                group.create_task(watch.run())
            group.create_task(self._sweeper())

    async def _sweeper(self) -> None:
        await self.jobs.complete()
        for watch in self.watches:
            await watch.synced.wait()
        while True:
            self.jobs.changed.clear()
            next_at = await self.sweep(time.time())
            sleep = MAX_SLEEP if next_at is None else min(MAX_SLEEP, max(0.0, next_at - time.time()))
            try:
                await asyncio.wait_for(self.jobs.changed.wait(), timeout=sleep)
                await asyncio.sleep(SETTLE)
            except TimeoutError:
                pass

    async def sweep(self, now: float) -> float | None:
        """Deletes what is due now; when the next thing falls due (None: nothing will)."""
        views = self.jobs.views()
        plan = decisions.cleanup(views, now, self.default_ttl)
        self.requested &= {view.uid for view in views.values()} | {r[0] for r in self.kills.records.values()}
        for (namespace, name), uid in plan.delete:
            if uid not in self.requested:
                await self._delete(job_path(namespace, name), uid, f"job {namespace}/{name}")
        next_at = plan.next_at if plan.next_at is not None else math.inf
        for (namespace, name), (uid, killed_at, ttl) in list(self.kills.records.items()):
            at = decisions.record_due_at(killed_at, ttl, self.default_ttl)
            if at <= now and uid not in self.requested:
                await self._delete(core_path(namespace, "configmaps", name), uid, f"kill record {namespace}/{name}")
            elif at > now:
                next_at = min(next_at, at)
        return None if next_at == math.inf else next_at

    async def _delete(self, path: str, uid: str, what: str) -> None:
        self.requested.add(uid)
        try:
            if await self.kube.delete(path, uid=uid, propagation="Background"):
                log.info("deleted %s: ended ttlSecondsAfterFinished ago", what)
        except Exception:  # noqa: BLE001  # tried again at the next wake
            self.requested.discard(uid)
            log.exception("could not delete %s; trying again later", what)
