"""Posts the operator's Events in the background, a few at a time.

An Event is news, not state: no status write (the one a waiting GetJobIP needs) should
wait for one, and in a burst hundreds of Events must not compete with the pod creates and
status writes that jobs wait for. As client-go's event broadcaster: callers never wait; at
most POSTERS Events are in flight, in order; at most QUEUE_LIMIT wait, and past that an
Event is dropped and counted, with one log line per overflow. Events still waiting when
the operator stops are not posted.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import kube_api
from dlws_contract.kube_api import namespace_terminating
from dlws_operator import metrics
from dlws_operator.events import Event, JobRef, job_event

log = logging.getLogger(__name__)

POSTERS: Final = 2
QUEUE_LIMIT: Final = 10_000  # small dicts: a backlog memory can hold


class EventPoster:
    def __init__(self, send: Callable[[Event], Awaitable[None]], *, posters: int = POSTERS,
                 limit: int = QUEUE_LIMIT) -> None:
        self._send = send
        self._posters = posters
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=limit)
        self._overflowing = False

    def post(self, event: Event) -> None:
        """Queues the Event; never waits."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            metrics.EVENTS_DROPPED.inc()
            if not self._overflowing:
                log.warning("%d Events are waiting to be posted; dropping new ones until some are posted",
                            self._queue.qsize())
            self._overflowing = True

    def waiting(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        """Posts queued Events until cancelled."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self._posters):
                group.create_task(self._poster())

    async def _poster(self) -> None:
        while True:
            event = await self._queue.get()
            self._overflowing = False
            try:
                await self._send(event)
            except Exception as exc:  # one Event's trouble must not stop the others
                if not namespace_terminating(exc):
                    reference = event.get("involvedObject") or {}
                    log.warning("posting event %s for job %s/%s failed: %s", event.get("reason"),
                                reference.get("namespace"), reference.get("name"),
                                f"HTTP {exc.status}" if isinstance(exc, ApiException) else type(exc).__name__)
            finally:
                self._queue.task_done()


def post_event(poster: EventPoster, job: JobRef, *, type: str, reason: str, message: str) -> None:
    """Queues an Event about `job` (events.job_event), stamped now."""
    poster.post(job_event(job, type=type, reason=reason, message=message, now=kube_api.timestamp()))
