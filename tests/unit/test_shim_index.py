"""The job index: records, family lookups, waiting for a change."""
import asyncio
import random
from typing import Any

import pytest

from api_shim.job_index import JobIndex
from api_shim.records import JobRecord, is_job_id, record_from_object
from dlws_contract import resource
from dlws_contract.catch_up import still_alive


def obj(name: str, ns: str = "ns", family: str | None = "fam", parent: str | None = "r",
        **status: object) -> dict:
    labels = {}
    if family:
        labels[resource.LABEL_FAMILY] = family
    if parent:
        labels[resource.LABEL_PARENT] = parent
    return {"metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": labels},
            "spec": {"userName": "alice", "userId": 7}, "status": status}


@pytest.mark.parametrize("value,ok", [
    ("5f0c6c1e-1234-4000-8000-00000000abcd", True), ("root-1", True), ("a", True),
    ("", False), ("-a", False), ("a-", False), ("A", False), ("a/b", False), ("..", False),
    ("a" * 64, False), ("a,b", False), ("a=b", False), ("a b", False),
])
def test_job_ids_are_dns_labels(value: str, ok: bool) -> None:
    assert is_job_id(value) is ok


def test_record_keeps_what_decisions_need() -> None:
    r = record_from_object(obj("c", phase="Running", podIP="10.0.0.5"))
    assert (r.namespace, r.name, r.uid, r.family, r.parent) == ("ns", "c", "uid-c", "fam", "r")
    assert (r.phase, r.pod_ip, r.user_name, r.user_id, r.deleting) == ("Running", "10.0.0.5", "alice", 7, False)


def test_a_fresh_read_shows_the_job_still_there_only_alive_and_with_its_uid() -> None:
    known = record_from_object(obj("p"))
    assert still_alive(known.uid, obj("p"))
    assert not still_alive(known.uid, None)  # gone
    dying = obj("p")
    dying["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert not still_alive(known.uid, dying)
    again = obj("p")
    again["metadata"]["uid"] = "uid-of-a-new-p"  # deleted and made again under its name
    assert not still_alive(known.uid, again)


def test_a_root_is_genuine_only_with_the_operators_status() -> None:
    assert record_from_object(obj("r", parent=None, familyDigest="fam")).is_family_root
    assert not record_from_object(obj("r", parent=None)).is_family_root
    assert not record_from_object(obj("r", parent=None, familyDigest="other")).is_family_root


def test_family_root_and_live_count() -> None:
    index = JobIndex()
    index.replace_all([record_from_object(obj("r", parent=None, familyDigest="fam")),
                       record_from_object(obj("c1", phase="Running")),
                       record_from_object(obj("c2", phase="Succeeded")),
                       record_from_object(obj("c3", ns="elsewhere")),
                       record_from_object(obj("x", family="other"))])
    root = index.family_root("fam")
    assert root is not None and root.name == "r"
    assert index.live_count("fam", "ns") == 2  # r (no phase yet) and c1; c2 finished


def test_live_count_follows_every_change_as_a_recount_would() -> None:
    """live_count is kept as jobs come, change and go; it must agree with counting the
    family's live members after any sequence of watch events."""
    rng = random.Random(6)
    index = JobIndex()
    model: dict[tuple[str, str], JobRecord] = {}  # what the index should hold
    names, families, namespaces = [f"j{i}" for i in range(12)], ["fam", "other", None], ["ns", "elsewhere"]
    phases_ = [None, "Pending", "Running", "Succeeded", "Failed", "Killing"]

    def some_job() -> dict:
        status = {"phase": p} if (p := rng.choice(phases_)) else {}
        return obj(rng.choice(names), ns=rng.choice(namespaces), family=rng.choice(families), **status)

    for _ in range(500):
        step = rng.random()
        if step < 0.7:
            job = record_from_object(some_job())
            index.upsert(job)
            model[job.key] = job
        elif step < 0.95:
            key = (rng.choice(namespaces), rng.choice(names))
            index.remove(*key)
            model.pop(key, None)
        else:
            jobs = [record_from_object(some_job()) for _ in range(rng.randint(0, 6))]
            index.replace_all(jobs)
            model = {job.key: job for job in jobs}
        assert len(index) == len(model)
        for family in ("fam", "other"):
            for ns in namespaces:
                recount = sum(1 for job in model.values() if (job.family, job.namespace) == (family, ns) and job.live)
                assert index.live_count(family, ns) == recount


def test_relist_drops_what_is_gone() -> None:
    index = JobIndex()
    index.replace_all([record_from_object(obj("r", parent=None, familyDigest="fam"))])
    index.replace_all([])
    assert index.family_root("fam") is None and len(index) == 0


def test_a_root_being_deleted_stops_being_a_root() -> None:
    index = JobIndex()
    index.upsert(record_from_object(obj("r", parent=None, familyDigest="fam")))
    deleted = obj("r", parent=None, familyDigest="fam")
    deleted["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    index.upsert(record_from_object(deleted))
    assert index.family_root("fam") is None


async def test_a_waiter_wakes_when_its_job_changes() -> None:
    index = JobIndex()
    index.upsert(record_from_object(obj("c")))
    waiting = asyncio.ensure_future(index.wait_for_change("ns", "c", 5.0))
    await asyncio.sleep(0)
    index.upsert(record_from_object(obj("c", podIP="10.0.0.9")))
    assert await waiting is True


async def test_a_waiter_times_out_without_a_change() -> None:
    index = JobIndex()
    assert await index.wait_for_change("ns", "c", 0.01) is False
    assert not index._waiters  # nothing left behind


async def test_a_change_to_another_job_does_not_wake_a_waiter() -> None:
    index = JobIndex()
    waiting = asyncio.ensure_future(index.wait_for_change("ns", "c", 0.05))
    await asyncio.sleep(0)
    index.upsert(record_from_object(obj("other")))
    assert await waiting is False


# --- watch events (the event handling of the index's ListWatch; its stream is tested on a real
# API server in tests/integration/test_shim_kube_store.py) ---------------------------------

def watcher() -> Any:
    from api_shim.index_watch import index_watcher
    return index_watcher(None, JobIndex(), namespace=None, request_timeout=1.0)  # type: ignore[arg-type]


def event(kind: str, name: str, version: str, **status: object) -> dict:
    o = obj(name, **status)
    o["metadata"]["resourceVersion"] = version
    return {"type": kind, "object": o}


def test_watch_events_update_the_index_and_move_the_version() -> None:
    w = watcher()
    assert w.apply(event("ADDED", "c", "10"), "9") == "10"
    assert w.apply(event("MODIFIED", "c", "11", podIP="10.0.0.2"), "10") == "11"
    job = w.cache.index.get("ns", "c")
    assert job is not None and job.pod_ip == "10.0.0.2"
    assert w.apply(event("DELETED", "c", "12"), "11") == "12"
    assert w.cache.index.get("ns", "c") is None


def test_a_bookmark_only_moves_the_version() -> None:
    w = watcher()
    bookmark = {"type": "BOOKMARK", "object": {"kind": "DLWSJob", "metadata": {"resourceVersion": "42"}}}
    assert w.apply(bookmark, "9") == "42" and len(w.cache.index) == 0


def test_an_expired_version_asks_for_a_relist() -> None:
    from dlws_contract.list_watch import Expired
    w = watcher()
    with pytest.raises(Expired):
        w.apply({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}, "9")


def test_another_watch_error_is_raised_for_a_retry() -> None:
    from kubernetes.aio.client.exceptions import ApiException
    w = watcher()
    with pytest.raises(ApiException):
        w.apply({"type": "ERROR", "object": {"kind": "Status", "code": 500, "message": "etcd"}}, "9")


async def test_wait_for_job_returns_once_the_watch_delivers_that_job() -> None:
    index = JobIndex()

    def version(uid: str) -> JobRecord:
        o = obj("late")
        o["metadata"]["uid"] = uid
        return record_from_object(o)
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, index.upsert, version("u0"))  # an older job of that name first
    loop.call_later(0.02, index.upsert, version("u1"))
    assert await index.wait_for_job("ns", "late", "u1", timeout=5)
    assert not await index.wait_for_job("ns", "late", "u2", timeout=0.05)
    assert not await index.wait_for_job("ns", "never", "u3", timeout=0.05)
