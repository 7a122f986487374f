"""The pod mirror: the jobs' Pods, kept by our own list + watch (a label selector: never
the cluster's other pods), each changed Pod handed at its latest state to lifecycle.mirror_pod.

Not through kopf: kopf gives every object a worker that holds its queued events in full,
which with thousands of pods was most of the operator's memory and CPU (docs/benchmarks.md).
"""
import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from kubernetes.aio.client.api_client import ApiClient

from dlws_contract import kube_api, resource
from dlws_contract.list_watch import ListWatch
from dlws_operator.job_view import JobLookup
from dlws_operator.pending_hold import PARKED, PendingHold
from dlws_operator.pod_cache import Change, PodCache, PodKey
from dlws_operator.status import PodState, pod_state
from dlws_operator.work_queue import KeyQueue

log = logging.getLogger(__name__)

# Status writes in flight at once; the API client's pool (32) is shared with run_job.
WORKERS: Final = 16

Reconcile = Callable[[Change], Awaitable[None]]


class PodMirror:
    def __init__(self, api: ApiClient, jobs: JobLookup, *, namespaces: list[str], request_timeout: float) -> None:
        self.jobs = jobs
        self.queue: KeyQueue[PodKey] = KeyQueue()
        self.cache = PodCache(self.queue)
        self.hold = PendingHold(self.queue)
        self.watches: list[ListWatch[PodState]] = [
            ListWatch(api, kube_api.collection_path("", "v1", "pods", ns), self.cache, pod_state,
                      label_selector=resource.LABEL_JOB, request_timeout=request_timeout, what="pods")
            for ns in (namespaces or [None])]  # type: ignore[list-item]  # None: every namespace

    async def synced(self) -> None:
        """Returns once every pod that existed at start-up is in the cache."""
        for watch in self.watches:
            await watch.synced.wait()

    async def run(self, reconcile: Reconcile) -> None:
        """Runs until cancelled."""
        async with asyncio.TaskGroup() as group:
            for watch in self.watches:
                group.create_task(watch.run())
            for _ in range(WORKERS):
                group.create_task(self._worker(reconcile))

    async def _worker(self, reconcile: Reconcile) -> None:
        while True:
            key = await self.queue.get()
            change = self.cache.change(key)
            try:
                if change is not None:
                    # Until then a pod cannot be compared with its job's status, and a
                    # restarted operator would rewrite every status.
                    await self.jobs.complete()
                    owner = change.pod.owner
                    job = self.jobs.view(owner.namespace, owner.name) if owner is not None else None
                    if (wait := self.hold.delay(key, change, job)) == PARKED:
                        pass  # queued again by hold.done
                    elif wait > 0:
                        self.queue.add_after(key, wait)
                    else:
                        await reconcile(change)
            except Exception:  # one pod's trouble must not stop the others
                log.exception("mirroring pod %s/%s into its job's status failed", *key)
            finally:
                self.hold.done(key)
                if change is not None:
                    self.cache.forget(key, change)
                # A change that came in meanwhile queues the key again, for its latest state.
                self.queue.done(key)
