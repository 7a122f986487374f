"""The kill record (dlws_contract.kill_record): built and read back, bounded, no token;
the shim's index of records by the jobs they name (api_shim.kill_index)."""
from __future__ import annotations

import json

from api_shim.kill_index import KillIndex
from dlws_contract import kill_record, resource
from dlws_contract.kill_record import KilledJob, KillRecord

JOBS = (KilledJob("c1", "u1", "child", "root", "2026-12-08T01:00:00Z"),
        KilledJob("g1", "u2", "grandchild", "c1", None))


def record(killed: str = "c1", at: str = "2026-12-08T02:00:00Z", jobs: tuple[KilledJob, ...] = JOBS) -> KillRecord:
    return KillRecord(namespace="ns", killed=killed, killed_at=at, family="d" * 63, root="root", ttl=None, jobs=jobs)


def test_a_record_reads_back_as_it_was_written_and_is_owned_by_the_root() -> None:
    body = kill_record.build_record(record(), {"metadata": {"name": "root", "uid": "ur"}})
    assert kill_record.parse_record(body) == record()
    meta = body["metadata"]
    assert meta["name"] == "dlws-killed-c1" and meta["labels"][kill_record.LABEL_KILLED] == "c1"
    assert meta["labels"][resource.LABEL_FAMILY] == "d" * 63
    assert meta["ownerReferences"][0]["uid"] == "ur" and not meta["ownerReferences"][0]["blockOwnerDeletion"]
    assert "ownerReferences" not in kill_record.build_record(record(), None)["metadata"]  # the root killed
    assert kill_record.parse_record({"metadata": {}, "data": {kill_record.DATA_KEY: "{"}}) is None


def test_a_huge_subtree_is_bounded_nearest_first() -> None:
    many = [KilledJob(f"j{i}", "", "x", None, None) for i in range(kill_record.MAX_ENTRIES + 7)]
    kept, left_out = kill_record.bounded(many)
    assert (len(kept), left_out, kept[0].name) == (kill_record.MAX_ENTRIES, 7, "j0")
    body = kill_record.build_record(record(jobs=kept), None)
    assert len(json.dumps(body)) < 1024 * 1024  # a ConfigMap's limit


def test_the_index_answers_the_first_kill_of_a_job_and_forgets_a_deleted_record() -> None:
    index = KillIndex()
    index.add(record("root", "2026-12-08T03:00:00Z", (KilledJob("root", "u0", "r", None, None), *JOBS)))
    index.add(record())
    found = index.get("ns", "g1")
    assert found is not None and found.record.killed == "c1"  # the child's kill came first
    index.drop("ns", "c1")
    found = index.get("ns", "g1")
    assert found is not None and found.record.killed == "root"
    index.drop("ns", "root")
    assert index.get("ns", "g1") is None and len(index) == 0


def test_gone_jobs_of_a_record_are_drawn_as_killed() -> None:
    objs = kill_record.killed_objects(record(), present=["c1"])
    assert [o["metadata"]["name"] for o in objs] == ["g1"]
    assert objs[0]["status"]["phase"] == kill_record.KILLED_PHASE
    assert objs[0]["metadata"]["labels"] == {resource.LABEL_PARENT: "c1"}
