"""A new job's first Pending is held back briefly, so Pending and Running coalesce into
one status write; anything else is written at once."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from dlws_operator import pod_events
from dlws_operator.indexes import JobView, job_view
from dlws_operator.pod_cache import Change, slim_pod
from tests.unit.test_operator_pod_cache import full_pod


def mirror(job_status: dict[str, Any]) -> pod_events.PodMirror:
    view: JobView = job_view({"uid": "job-j", "labels": {}}, job_status)
    kube: Any = SimpleNamespace(api=None)
    events: Any = SimpleNamespace(post=lambda event: None)
    return pod_events.PodMirror(kube, {("ns", "j"): [view]}, events,  # type: ignore[arg-type]
                                namespaces=["ns"], request_timeout=1.0)


def change(phase: str, deleted: bool = False) -> Change:
    return Change(slim_pod(full_pod(phase=phase)), deleted=deleted)


async def test_a_new_jobs_pending_is_held_then_written() -> None:
    m = mirror({})
    first = m._hold(("ns", "j"), change("Pending"))
    assert 0 < first <= pod_events.PENDING_GRACE
    await asyncio.sleep(0.05)
    assert m._hold(("ns", "j"), change("Pending")) < first  # the same deadline, not a new one
    m._held[("ns", "j")] = asyncio.get_running_loop().time() - 0.01  # the grace is over
    assert m._hold(("ns", "j"), change("Pending")) == 0.0
    assert not m._held


async def test_running_deleted_or_already_shown_jobs_are_not_held() -> None:
    m = mirror({})
    m._hold(("ns", "j"), change("Pending"))
    assert m._hold(("ns", "j"), change("Running")) == 0.0 and not m._held
    assert m._hold(("ns", "j"), change("Pending", deleted=True)) == 0.0
    assert mirror({"phase": "Pending"})._hold(("ns", "j"), change("Pending")) == 0.0
    assert mirror({"phase": "Running"})._hold(("ns", "j"), change("Pending")) == 0.0


async def test_a_pod_of_an_unknown_job_is_not_held() -> None:
    m = mirror({})
    m.job_index = {}  # type: ignore[assignment]
    assert m._hold(("ns", "j"), change("Pending")) == 0.0


async def test_add_after_queues_the_key_later() -> None:
    from dlws_operator.work_queue import KeyQueue
    queue: KeyQueue[str] = KeyQueue()
    queue.add_after("k", 0.05)
    assert len(queue) == 0
    assert await asyncio.wait_for(queue.get(), 1.0) == "k"


async def test_a_due_pending_waits_while_other_first_pendings_are_being_written() -> None:
    m = mirror({})
    m._first_pending.update(("ns", f"busy-{i}") for i in range(pod_events.PENDING_WRITERS))
    m._held[("ns", "j")] = asyncio.get_running_loop().time() - 0.01  # the grace is over
    assert m._hold(("ns", "j"), change("Pending")) == pod_events.PARKED
    assert ("ns", "j") in m._held and list(m._parked) == [("ns", "j")]  # looked at again later
    assert m._hold(("ns", "j"), change("Running")) == 0.0  # it ran meanwhile: one write, at once
    assert not m._parked and not m._held
    m._first_pending.clear()
    m._held[("ns", "j")] = asyncio.get_running_loop().time() - 0.01
    assert m._hold(("ns", "j"), change("Pending")) == 0.0
    assert m._first_pending == {("ns", "j")}  # a slot taken until the worker has written it


async def test_the_worker_frees_the_first_pending_slot_once_written() -> None:
    m = mirror({})
    m.jobs_indexed.set()
    key = ("ns", "j")
    m._held[key] = asyncio.get_running_loop().time() - 0.01  # the grace is over
    written: list[bool] = []

    async def write(change: Change) -> None:
        written.append(key in m._first_pending)

    m._write = write  # type: ignore[method-assign]
    m.cache.upsert(slim_pod(full_pod(phase="Pending")))
    worker = asyncio.create_task(m._worker())
    try:
        while not written:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)
        assert written == [True] and not m._first_pending and not m._held
    finally:
        worker.cancel()


async def test_a_parked_pending_is_queued_again_when_a_first_pending_write_ends() -> None:
    m = mirror({})
    m._first_pending.update(("ns", f"busy-{i}") for i in range(pod_events.PENDING_WRITERS))
    m._held[("ns", "j")] = asyncio.get_running_loop().time() - 0.01
    assert m._hold(("ns", "j"), change("Pending")) == pod_events.PARKED
    assert len(m.queue) == 0  # no timer, no polling
    m._next_pending()  # both writers still busy: stays parked
    assert list(m._parked) == [("ns", "j")] and len(m.queue) == 0
    m._first_pending.discard(("ns", "busy-0"))
    m._next_pending()
    assert not m._parked and await asyncio.wait_for(m.queue.get(), 1.0) == ("ns", "j")


async def test_parked_pendings_are_not_stranded_when_the_one_let_out_has_run() -> None:
    """The pod let out first may take no writer (here it is gone); the worker still lets
    the next one out, though no first-Pending write ended."""
    m = mirror({})
    m.jobs_indexed.set()
    key = ("ns", "j")
    m._parked = {key: None}
    m._held[key] = asyncio.get_running_loop().time() - 0.01
    m.cache._live[key] = slim_pod(full_pod(phase="Pending"))  # cached, not queued: it is parked
    written: list[str] = []

    async def write(change: Change) -> None:
        written.append(change.pod["status"].get("phase"))

    m._write = write  # type: ignore[method-assign]
    m.queue.add(("ns", "gone"))  # let out earlier; its pod is gone, so it takes no writer
    worker = asyncio.create_task(m._worker())
    try:
        for _ in range(100):
            if written:
                break
            await asyncio.sleep(0.01)
        assert written == ["Pending"] and not m._parked and not m._first_pending
    finally:
        worker.cancel()
