"""Mirrors each job's Pod into the job's status.

Pods are not watched through kopf: kopf gives every object a worker that holds its
queued events in full, which with thousands of pods was most of the operator's memory
and CPU (docs/benchmarks.md). Here one list + watch (a server-side label selector: the
operator never streams the cluster's other pods) keeps slim copies of the jobs' pods,
and a few workers write each changed pod's latest state into its job's status.
"""
from __future__ import annotations

import asyncio
import datetime
import logging
import math
from typing import Any, Final

import kopf

from dlws_contract import kube_api, phases, resource
from dlws_contract.list_watch import ListWatch
from dlws_operator import metrics
from dlws_operator import status as job_status
from dlws_operator.event_poster import EventPoster
from dlws_operator.events import JobRef, job_event
from dlws_operator.handlers import now
from dlws_operator.indexes import JobView, lookup, status_key
from dlws_operator.kube import Kube
from dlws_operator.pod_cache import Change, PodCache, PodKey, controller_ref, slim_pod
from dlws_operator.retry import retry_transient
from dlws_operator.work_queue import KeyQueue

log = logging.getLogger(__name__)

# Status writes in flight at once; the API client's pool (32) is shared with run_job.
WORKERS: Final = 16
# How long a new job's Pending is held back in case its pod runs first (see _hold).
PENDING_GRACE: Final = 1.0
# First-Pending writes in flight at once (see _hold).
PENDING_WRITERS: Final = 2
# _hold's answer for a due Pending that waits for one of those: no timer, the key is
# queued again once a writer is free (_next_pending).
PARKED: Final = math.inf


def _age_seconds(created: str | None) -> float | None:
    if not created:
        return None
    then = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return (datetime.datetime.now(datetime.timezone.utc) - then).total_seconds()


class PodMirror:
    def __init__(self, kube: Kube, job_index: kopf.Index[Any, Any], events: EventPoster, *,
                 namespaces: list[str], request_timeout: float) -> None:
        self.kube = kube
        self.events = events
        self.job_index = job_index
        self.queue: KeyQueue[PodKey] = KeyQueue()
        self.cache = PodCache(self.queue)
        self.watches = [
            ListWatch(kube.api, kube_api.collection_path("", "v1", "pods", ns), self.cache, slim_pod,
                      label_selector=resource.LABEL_JOB, request_timeout=request_timeout, what="pods")
            for ns in (namespaces or [None])]  # type: ignore[list-item]  # None: every namespace
        # kopf runs no job handler before its job index holds every job; the first one to
        # run sets this (handlers.mark_killing). Until then a pod cannot be compared with its
        # job's status, and a restarted operator would rewrite every status.
        self.jobs_indexed = asyncio.Event()
        self._held: dict[PodKey, float] = {}  # pod -> when its Pending is written anyway
        self._first_pending: set[PodKey] = set()  # pods whose held Pending is being written
        self._parked: dict[PodKey, None] = {}  # due Pendings waiting for a writer, oldest first

    async def synced(self) -> None:
        """Returns once every pod that existed at start-up is in the cache."""
        for watch in self.watches:
            await watch.synced.wait()

    async def run(self) -> None:
        """Runs until cancelled."""
        async with asyncio.TaskGroup() as group:
            for watch in self.watches:
                group.create_task(watch.run())
            for _ in range(WORKERS):
                group.create_task(self._worker())

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            change = self.cache.change(key)
            try:
                if change is not None:
                    await self.jobs_indexed.wait()
                    if (wait := self._hold(key, change)) == PARKED:
                        pass  # queued again by _next_pending
                    elif wait > 0:
                        self.queue.add_after(key, wait)
                    else:
                        await self._write(change)
            except Exception:  # one pod's trouble must not stop the others
                log.exception("mirroring pod %s/%s into its job's status failed", *key)
            finally:
                self._first_pending.discard(key)
                self._next_pending()
                if change is not None:
                    self.cache.forget(key, change)
                # A change that came in meanwhile queues the key again, for its latest state.
                self.queue.done(key)

    def _hold(self, key: PodKey, change: Change) -> float:
        """Seconds to hold back a new job's first status while its pod is Pending.

        On kwok nodes a pod runs within milliseconds of being made; on real nodes with a
        cached image, often within a second. Writing Pending and then Running is two status
        writes, two watch events for every watcher, and API server work in the very
        window in which the pod is being scheduled; held back briefly, the two usually
        coalesce into one write. Only the first status of a job is held: a job whose
        status already has a phase is written at once.

        A held Pending that is due is still written at low priority: at most
        PENDING_WRITERS at once; the others are parked, oldest first, until a write ends.
        In a burst (hundreds of jobs submitted at once) pods wait seconds for the scheduler
        and their nodes; a Pending written then is mostly overwritten by Running moments
        later, and its writes compete with the Running ones (the IPs jobs wait for) on a
        busy API server. A parked pod that runs meanwhile is queued by its own change and
        gets one write. Out of a burst nothing is parked and this changes nothing.
        """
        pod = change.pod
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        ref = controller_ref(pod)
        view: JobView | None = (lookup(self.job_index, key[0], str(ref["name"])) if ref is not None else None)
        if change.deleted or phase != "Pending" or view is None or view.mirrored[0] is not None:
            self._held.pop(key, None)
            self._parked.pop(key, None)
            return 0.0
        loop_now = asyncio.get_running_loop().time()
        left = self._held.setdefault(key, loop_now + PENDING_GRACE) - loop_now
        if left > 0:
            return left
        if len(self._first_pending) >= PENDING_WRITERS:
            self._parked[key] = None
            return PARKED
        del self._held[key]
        self._parked.pop(key, None)
        self._first_pending.add(key)  # the worker discards it once written
        return 0.0

    def _next_pending(self) -> None:
        """While a first-Pending writer is free, the oldest parked pod is looked at again.

        Called after every key a worker handles, not only after a first-Pending write: a
        pod taken from here may have run meanwhile and take no writer, and the pods parked
        behind it must not wait for a write that nothing will start.
        """
        if self._parked and len(self._first_pending) < PENDING_WRITERS:
            key = next(iter(self._parked))
            del self._parked[key]
            self.queue.add(key)

    @metrics.count_errors("mirror_pod")
    @retry_transient("mirroring a pod into its job's status")
    async def _write(self, change: Change) -> None:
        pod = change.pod
        ref = controller_ref(pod)
        if ref is None:
            return
        job = JobRef(pod["metadata"]["namespace"], str(ref["name"]), str(ref["uid"]))
        view: JobView | None = lookup(self.job_index, job.namespace, job.name)
        if view is not None and view.uid != job.uid:
            view = None  # a new job of the same name; this pod belonged to the old one
        if change.deleted:
            # Killed jobs lose their pods by garbage collection: nothing to say. A pod gone
            # from under a live, unfinished job means the job failed.
            if view is not None and not view.deleting and view.mirrored[0] not in phases.FINISHED_PHASES:
                await self.kube.patch_job_status(job.namespace, job.name,
                                                 job_status.pod_lost_status(pod["metadata"]["name"]))
                self._event(job, "Warning", "PodDeleted", "the job's pod was deleted; the job has failed")
            return
        if pod["metadata"].get("deletionTimestamp") or (view is not None and view.deleting):
            # Being killed: mark_killing shows the job Killing and the garbage collector removes
            # the pod. A status write here would only make the collector's own patch of the
            # dying job conflict and retry.
            return
        new = job_status.status_from_pod(pod, now=now())
        if view is not None and view.mirrored == status_key(new):
            return  # the status says this already (e.g. after an operator restart)
        written = await self.kube.patch_job_status(job.namespace, job.name, new)
        if written is None:
            return
        # A kill that began between the pod event and this patch: mark_killing sees the
        # job's next event (this patch's) and shows it Killing again.
        previous = metrics.JOB_PHASES.set(job.uid, new["phase"])
        if previous != new["phase"] and new["phase"] != phases.PENDING:
            self._event(job, "Warning" if new["phase"] == phases.FAILED else "Normal", f"Job{new['phase']}",
                        new.get("message") or f"pod {pod['metadata']['name']} is {new['phase'].lower()}")
        if new.get("podIP") and previous in (None, phases.PENDING):
            age = _age_seconds(written["metadata"].get("creationTimestamp"))
            if age is not None:
                metrics.TIME_TO_POD_IP.observe(age)

    def _event(self, job: JobRef, event_type: str, reason: str, message: str) -> None:
        self.events.post(job_event(job, type=event_type, reason=reason, message=message, now=now()))
