"""The operator's pod cache and work queue: the PodState of each Pod, which mirrors the
same status as the full Pod, coalesced keys, and deletions that are never dropped."""
from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from dlws_contract import resource
from dlws_contract.resource import GENERATION_ANNOTATION
from dlws_operator.events import JobRef, job_event
from dlws_operator.pod_cache import PodCache
from dlws_operator.status import pod_state, status_from_pod, status_from_state
from dlws_operator.work_queue import KeyQueue

NOW = "2026-11-28T00:00:00Z"


def full_pod(name: str = "j", phase: str = "Running", **status: Any) -> dict[str, Any]:
    """A Pod as the API server sends it, with the many fields the operator never reads."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "ns", "uid": f"pod-{name}", "resourceVersion": "7",
            "labels": {resource.LABEL_JOB: name}, "annotations": {GENERATION_ANNOTATION: "2", "other": "x"},
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "cm-uid"},
                {"apiVersion": resource.API_VERSION, "kind": resource.KIND, "name": name,
                 "uid": f"job-{name}", "controller": True, "blockOwnerDeletion": True}],
            "managedFields": [{"manager": "kwok", "fieldsV1": {"f:status": {}}}] * 5,
        },
        "spec": {"containers": [{"name": "main", "image": "busybox", "env": [{"name": "A", "value": "1"}] * 10}]},
        "status": {"phase": phase, "podIP": "10.0.0.9", "startTime": "2026-11-28T00:00:01Z",
                   "conditions": [{"type": "PodScheduled", "status": "True"},
                                  {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-28T00:00:02Z"}],
                   "containerStatuses": [{"name": "main", "ready": True, "image": "busybox",
                                          "state": {"running": {"startedAt": "2026-11-28T00:00:02Z"}}}],
                   **status},
    }


@pytest.mark.parametrize("pod", [
    full_pod(),
    full_pod(phase="Pending", podIP=None),
    full_pod(phase="Failed", reason="Evicted", message="node pressure"),
    full_pod(phase="Succeeded", containerStatuses=[
        {"name": "main", "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                                  "finishedAt": "2026-11-28T00:01:00Z"}}}]),
    full_pod(phase="Failed", containerStatuses=[{"name": "main", "state": {"terminated": {"exitCode": 3}}}]),
], ids=["running", "pending", "evicted", "succeeded", "exit-code"])
def test_a_pods_state_mirrors_the_same_status_as_the_full_pod(pod: dict[str, Any]) -> None:
    assert status_from_state(pod_state(pod), now=NOW) == status_from_pod(pod, now=NOW)


def test_a_pods_state_keeps_only_the_controlling_job_and_drops_the_bulk() -> None:
    state = pod_state(full_pod())
    owner = full_pod()["metadata"]["ownerReferences"][1]
    assert state.owner == JobRef("ns", owner["name"], owner["uid"])
    assert len(repr(state)) < len(repr(full_pod())) / 3


async def test_changes_to_one_pod_coalesce_into_one_queued_key() -> None:
    queue: KeyQueue[tuple[str, str]] = KeyQueue()
    cache = PodCache(queue)
    cache.upsert(pod_state(full_pod(phase="Pending")))
    cache.upsert(pod_state(full_pod(phase="Running")))
    cache.upsert(pod_state(full_pod(phase="Running")))
    assert len(queue) == 1
    key = await queue.get()
    change = cache.change(key)
    assert change is not None and change.pod.phase == "Running" and not change.deleted
    queue.done(key)
    assert len(queue) == 0
    unchanged = full_pod()
    unchanged["metadata"]["resourceVersion"] = "8"  # a field the operator does not read
    cache.upsert(pod_state(unchanged))
    assert len(queue) == 0


async def test_a_key_changed_while_busy_is_handled_again_and_never_twice_at_once() -> None:
    queue: KeyQueue[str] = KeyQueue()
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")  # changed while a worker handles it
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()  # not handed to a second worker meanwhile
    queue.done("a")
    assert await asyncio.wait_for(getter, 1) == "a"


def test_a_deletion_stays_until_handled_and_a_relist_notices_missed_ones() -> None:
    queue: KeyQueue[tuple[str, str]] = KeyQueue()
    cache = PodCache(queue)
    cache.replace_all([pod_state(full_pod("a")), pod_state(full_pod("b"))])
    assert cache.owner_uid("ns", "a") == "job-a"
    cache.remove(pod_state(full_pod("a")))
    assert cache.owner_uid("ns", "a") is None
    gone = cache.change(("ns", "a"))
    assert gone is not None and gone.deleted
    cache.replace_all([pod_state(full_pod("a"))])  # made again before the deletion was handled
    cache.forget(("ns", "a"), gone)
    again = cache.change(("ns", "a"))
    assert again is not None and not again.deleted
    b = cache.change(("ns", "b"))
    assert b is not None and b.deleted  # gone while the watch was down: seen by the relist
    cache.forget(("ns", "b"), b)
    assert cache.change(("ns", "b")) is None


def test_a_job_event_names_the_job_and_bounds_its_message() -> None:
    event = job_event(JobRef("ns", "j", "u"), type="Normal", reason="JobRunning", message="x" * 5000, now=NOW)
    assert event["involvedObject"] == {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
                                       "namespace": "ns", "name": "j", "uid": "u"}
    assert len(event["message"]) == 1024 and event["metadata"]["namespace"] == "ns"
    assert copy.deepcopy(event) == event
