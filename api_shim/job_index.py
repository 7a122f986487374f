"""An in-memory index of DLWSJobs, fed by a watch (see index_watch.py).

It answers, without an API call: which job is the valid root of a family digest, how
many live jobs a family has, and a job by (namespace, name). A request can also wait here for a
change to one job (GetJobIP `wait`), or for the watch to deliver a job just created
(SubmitJob's confirmation), which the watch delivers.

Synchronous bookkeeping on the event loop: no locks are needed, and no method awaits
except `wait_for_change` and `wait_for_job`.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Final

from api_shim.records import JobRecord
from dlws_contract.change_waiters import ChangeWaiters

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
_EMPTY: Final[frozenset[Key]] = frozenset()


class JobIndex:
    def __init__(self) -> None:
        self._jobs: dict[Key, JobRecord] = {}
        # Roots whose family is genuine (JobRecord.is_family_root), by digest. Normally one
        # per digest; see family_root for what more than one means.
        self._roots: dict[str, set[Key]] = {}
        # Live jobs by (family digest, namespace), kept up to date as jobs change, since
        # SubmitJob reads it on every call.
        self._live: Counter[tuple[str, str]] = Counter()
        self._waiters: ChangeWaiters[Key] = ChangeWaiters()
        # True once a full list has been loaded: before that, "not found" means nothing.
        self.synced = False

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, namespace: str, name: str) -> JobRecord | None:
        return self._jobs.get((namespace, name))

    def family_root(self, digest: str) -> JobRecord | None:
        roots = self._roots.get(digest, _EMPTY)
        if len(roots) != 1:
            # Two genuine roots with one digest cannot come from the operator (each family
            # has its own random token); refuse rather than guess which one a token means.
            if roots:
                log.warning("%d roots claim one family digest; refusing that family", len(roots))
            return None
        (key,) = roots
        return self._jobs[key]

    def subtree(self, namespace: str, name: str) -> list[JobRecord]:
        """The job and every job of its family below it, nearest first ([] if not held).
        A scan of the index: done once per KillJob, not per request."""
        top = self.get(namespace, name)
        if top is None:
            return []
        children: dict[str, list[JobRecord]] = {}
        for job in self._jobs.values():
            if job.parent and job.namespace == namespace and job.family == top.family:
                children.setdefault(job.parent, []).append(job)
        found, seen = [top], {top.name}
        for job in found:  # breadth first; grows as it goes
            for child in children.get(job.name, []):
                if child.name not in seen:
                    seen.add(child.name)
                    found.append(child)
        return found

    def live_count(self, digest: str, namespace: str) -> int:
        return self._live[(digest, namespace)]

    # --- fed by the watch -------------------------------------------------------------

    def upsert(self, job: JobRecord) -> None:
        old = self._jobs.get(job.key)
        if old == job:
            return
        if old is not None:
            self._unlink(old)
        self._jobs[job.key] = job
        if job.family and job.live:
            self._live[(job.family, job.namespace)] += 1
        if job.family and job.is_family_root:
            self._roots.setdefault(job.family, set()).add(job.key)
        self._waiters.notify(job.key)

    def remove(self, namespace: str, name: str) -> None:
        old = self._jobs.pop((namespace, name), None)
        if old is not None:
            self._unlink(old)
            self._waiters.notify(old.key)

    def replace_all(self, jobs: Iterable[JobRecord]) -> None:
        """Loads a full list (first sync, or a relist after the watch expired)."""
        fresh = {job.key: job for job in jobs}
        for key in [k for k in self._jobs if k not in fresh]:
            self.remove(*key)
        for job in fresh.values():
            self.upsert(job)
        self.synced = True

    def _unlink(self, job: JobRecord) -> None:
        if job.family and job.live:
            self._live[(job.family, job.namespace)] -= 1
            if not self._live[(job.family, job.namespace)]:
                del self._live[(job.family, job.namespace)]
        if job.family and job.family in self._roots:
            roots = self._roots[job.family]
            roots.discard(job.key)
            if not roots:
                del self._roots[job.family]

    # --- waiting for a job to change ----------------------------------------------------

    async def wait_for_job(self, namespace: str, name: str, uid: str, timeout: float) -> bool:
        """Waits until the index holds this job (this uid). The watch is one stream in
        etcd's order, so every write before the job's create has then been applied here too.
        False if timeout passed first."""
        def held() -> bool:
            job = self.get(namespace, name)
            return job is not None and job.uid == uid
        return await self._waiters.until((namespace, name), held, timeout)

    async def wait_for_change(self, namespace: str, name: str, timeout: float) -> bool:
        """Waits until the job is added, changed or removed; False if timeout passed first."""
        return await self._waiters.wait((namespace, name), timeout)
