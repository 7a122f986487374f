"""A new job's first Pending is held back briefly, so Pending and Running coalesce into
one status write; anything else is written at once."""
from __future__ import annotations

import asyncio
from typing import Any

from dlws_operator import pending_hold
from dlws_operator.job_view import JobView, job_view
from dlws_operator.pending_hold import PendingHold
from dlws_operator.pod_cache import Change, PodKey
from dlws_operator.pod_mirror import PodMirror
from dlws_operator.status import pod_state
from dlws_operator.work_queue import KeyQueue
from tests.unit.test_operator_pod_cache import full_pod

KEY: PodKey = ("ns", "j")


def view(job_status: dict[str, Any]) -> JobView:
    return job_view({"uid": "job-j", "labels": {}}, job_status)


def hold() -> PendingHold:
    return PendingHold(KeyQueue())


def change(phase: str, deleted: bool = False) -> Change:
    return Change(pod_state(full_pod(phase=phase)), deleted=deleted)


class Jobs:
    """A JobLookup holding one new job, j, its index complete."""

    def view(self, namespace: str, name: str) -> JobView | None:
        return view({}) if (namespace, name) == KEY else None

    async def complete(self) -> None:
        pass


def mirror() -> PodMirror:
    return PodMirror(None, Jobs(), namespaces=["ns"], request_timeout=1.0)  # type: ignore[arg-type]


def grace_over(h: PendingHold) -> None:
    h._held[KEY] = asyncio.get_running_loop().time() - 0.01


async def test_a_new_jobs_pending_is_held_then_written() -> None:
    h = hold()
    first = h.delay(KEY, change("Pending"), view({}))
    assert 0 < first <= pending_hold.GRACE
    await asyncio.sleep(0.05)
    assert h.delay(KEY, change("Pending"), view({})) < first  # the same deadline, not a new one
    grace_over(h)
    assert h.delay(KEY, change("Pending"), view({})) == 0.0
    assert not h._held


async def test_running_deleted_or_already_shown_jobs_are_not_held() -> None:
    h = hold()
    h.delay(KEY, change("Pending"), view({}))
    assert h.delay(KEY, change("Running"), view({})) == 0.0 and not h._held
    assert h.delay(KEY, change("Pending", deleted=True), view({})) == 0.0
    assert hold().delay(KEY, change("Pending"), view({"phase": "Pending"})) == 0.0
    assert hold().delay(KEY, change("Pending"), view({"phase": "Running"})) == 0.0


async def test_a_pod_of_an_unknown_job_is_not_held() -> None:
    assert hold().delay(KEY, change("Pending"), None) == 0.0


async def test_add_after_queues_the_key_later() -> None:
    queue: KeyQueue[str] = KeyQueue()
    queue.add_after("k", 0.05)
    assert len(queue) == 0
    assert await asyncio.wait_for(queue.get(), 1.0) == "k"


async def test_a_due_pending_waits_while_other_first_pendings_are_being_written() -> None:
    h = hold()
    h._writing.update(("ns", f"busy-{i}") for i in range(pending_hold.WRITERS))
    grace_over(h)
    assert h.delay(KEY, change("Pending"), view({})) == pending_hold.PARKED
    assert KEY in h._held and list(h._parked) == [KEY]  # looked at again later
    assert h.delay(KEY, change("Running"), view({})) == 0.0  # it ran meanwhile: one write, at once
    assert not h._parked and not h._held
    h._writing.clear()
    grace_over(h)
    assert h.delay(KEY, change("Pending"), view({})) == 0.0
    assert h._writing == {KEY}  # a slot taken until the worker has written it


async def test_the_worker_frees_the_first_pending_slot_once_written() -> None:
    m = mirror()
    grace_over(m.hold)
    written: list[bool] = []

    async def write(change: Change) -> None:
        written.append(KEY in m.hold._writing)

    m.cache.upsert(pod_state(full_pod(phase="Pending")))
    worker = asyncio.create_task(m._worker(write))
    try:
        for _ in range(100):  # until the write is made and its slot freed
            if written and not m.hold._writing:
                break
            await asyncio.sleep(0.01)
        assert written == [True] and not m.hold._writing and not m.hold._held
    finally:
        worker.cancel()


async def test_a_parked_pending_is_queued_again_when_a_first_pending_write_ends() -> None:
    h = hold()
    h._writing.update(("ns", f"busy-{i}") for i in range(pending_hold.WRITERS))
    grace_over(h)
    assert h.delay(KEY, change("Pending"), view({})) == pending_hold.PARKED
    assert len(h.queue) == 0  # no timer, no polling
    h.done(("ns", "other"))  # both writers still busy: stays parked
    assert list(h._parked) == [KEY] and len(h.queue) == 0
    h.done(("ns", "busy-0"))
    assert not h._parked and await asyncio.wait_for(h.queue.get(), 1.0) == KEY


async def test_parked_pendings_are_not_stranded_when_the_one_let_out_has_run() -> None:
    """The pod let out first may take no writer (here it is gone); the worker still lets
    the next one out, though no first-Pending write ended."""
    m = mirror()
    m.hold._parked = {KEY: None}
    grace_over(m.hold)
    m.cache._live[KEY] = pod_state(full_pod(phase="Pending"))  # cached, not queued: it is parked
    written: list[str | None] = []

    async def write(change: Change) -> None:
        written.append(change.pod.phase)

    m.queue.add(("ns", "gone"))  # let out earlier; its pod is gone, so it takes no writer
    worker = asyncio.create_task(m._worker(write))
    try:
        for _ in range(100):
            if written:
                break
            await asyncio.sleep(0.01)
        assert written == ["Pending"] and not m.hold._parked and not m.hold._writing
    finally:
        worker.cancel()
