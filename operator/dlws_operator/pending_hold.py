"""A new job's first status is held back briefly while its pod is Pending.

A pod often runs within a second of being made (on kwok nodes, milliseconds). Pending then
Running is two status writes and two watch events for every watcher, in the very window
in which the pod is scheduled; held back, they usually coalesce into one. A job whose
status already has a phase is written at once.

A due Pending is written at low priority: at most WRITERS at once, the others parked,
oldest first. In a burst, pods wait seconds for the scheduler; a Pending written then is
mostly overwritten by Running moments later, and competes with the Running writes (the
IPs jobs wait for). A parked pod that runs meanwhile gets one write, through its own change.
"""
import asyncio
import math
from typing import Final

from dlws_operator.job_view import JobView
from dlws_operator.pod_cache import Change, PodKey
from dlws_operator.work_queue import KeyQueue

GRACE: Final = 1.0  # seconds a new job's Pending is held back in case its pod runs first
WRITERS: Final = 2  # first-Pending writes in flight at once
PARKED: Final = math.inf  # delay() of a due Pending waiting for a writer: done() queues it


class PendingHold:
    def __init__(self, queue: KeyQueue[PodKey]) -> None:
        self.queue = queue
        self._held: dict[PodKey, float] = {}  # pod -> when its Pending is written anyway
        self._writing: set[PodKey] = set()  # pods whose held Pending is being written
        self._parked: dict[PodKey, None] = {}  # due Pendings waiting for a writer, oldest first

    def delay(self, key: PodKey, change: Change, job: JobView | None) -> float:
        """Seconds to hold this change back (0: write it now; PARKED: wait for a writer)."""
        phase = change.pod.phase or "Pending"
        if change.deleted or phase != "Pending" or job is None or job.mirrored[0] is not None:
            self._held.pop(key, None)
            self._parked.pop(key, None)
            return 0.0
        now = asyncio.get_running_loop().time()
        left = self._held.setdefault(key, now + GRACE) - now
        if left > 0:
            return left
        if len(self._writing) >= WRITERS:
            self._parked[key] = None
            return PARKED
        del self._held[key]
        self._parked.pop(key, None)
        self._writing.add(key)  # until done(key)
        return 0.0

    def done(self, key: PodKey) -> None:
        """A worker has handled `key`, however it went. While a first-Pending writer is
        free, the oldest parked pod is looked at again: after every key, not only after a
        first-Pending write, since a pod let out may have run meanwhile and take no writer,
        and the pods parked behind it must not wait for a write that nothing will start."""
        self._writing.discard(key)
        if self._parked and len(self._writing) < WRITERS:
            parked = next(iter(self._parked))
            del self._parked[parked]
            self.queue.add(parked)
