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
    return pod_events.PodMirror(kube, {("ns", "j"): [view]}, namespaces=["ns"],  # type: ignore[arg-type]
                                request_timeout=1.0)


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
