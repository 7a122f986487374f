"""What the operator does for each state of a job, its Pod and the jobs above it
(decisions.py, carried out by lifecycle.py): every arrow of the diagram, without a cluster."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dlws_contract import phases, resource
from dlws_contract.spec import JobSpec
from dlws_operator import decisions
from dlws_operator.decisions import (FamilyMarks, JobEvent, Mirror, Notice, PodLost, Refuse, Run,
                                     WaitForRoom)
from dlws_operator.events import JobRef
from dlws_operator.job_view import JobView, job_view
from dlws_operator.refusals import Refusal
from dlws_operator.status import PodState, status_from_state, status_key

NOW = "2026-11-28T00:00:00Z"
KILLED = "2026-11-28T00:00:05Z"
DIGEST = "d" * 64
SPEC: JobSpec = {"jobName": "n", "image": "busybox", "jobType": "training"}


def meta(name: str = "j", *, parent: str | None = None, deleting: bool = False,
         labels: dict[str, str] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": dict(labels or {})}
    if parent:
        m["labels"] |= {resource.LABEL_PARENT: parent, resource.LABEL_ROOT: "r"}
    if deleting:
        m["deletionTimestamp"] = KILLED
    return m


def marked_root() -> dict[str, Any]:
    return meta("r", labels={resource.LABEL_FAMILY: DIGEST, resource.LABEL_ROOT: "r"})


# -- run_job -------------------------------------------------------------------------------------


def test_a_new_job_without_a_pod_is_started() -> None:
    assert decisions.run(meta(), {}, pod_owner=None) is Run.START
    assert decisions.run(meta(parent="p"), {}, pod_owner=None) is Run.START


def test_a_job_being_deleted_is_not_started() -> None:
    assert decisions.run(meta(deleting=True), {}, pod_owner=None) is Run.SKIP


def test_a_child_whose_pod_an_earlier_run_made_is_not_started_again() -> None:
    assert decisions.run(meta("c", parent="p"), {}, pod_owner="uid-c") is Run.SKIP


def test_a_root_is_running_only_with_its_pod_and_the_family_label_we_wrote() -> None:
    assert decisions.run(marked_root(), {"familyDigest": DIGEST}, pod_owner="uid-r") is Run.SKIP
    # Its family not written yet (the run stopped between the Pod and the patch), or
    # the label not the digest the operator wrote: the run makes sure of both.
    assert decisions.run(marked_root(), {}, pod_owner="uid-r") is Run.START
    assert decisions.run(marked_root(), {"familyDigest": "other"}, pod_owner="uid-r") is Run.START
    assert decisions.run(meta("r"), {"familyDigest": DIGEST}, pod_owner="uid-r") is Run.START


def test_a_pod_of_the_jobs_name_that_is_not_its_own_does_not_count() -> None:
    assert decisions.run(meta("c", parent="p"), {}, pod_owner="uid-of-an-older-c") is Run.START
    assert decisions.run(meta("c", parent="p"), {}, pod_owner="") is Run.START  # a pod with no owner


# -- start_job: the family -------------------------------------------------------------------


def test_a_root_is_marked_with_its_family_once() -> None:
    assert decisions.family_marks(meta("r"), {}, DIGEST) == FamilyMarks(
        {resource.LABEL_FAMILY: DIGEST, resource.LABEL_ROOT: "r"}, {"familyDigest": DIGEST})
    assert decisions.family_marks(marked_root(), {"familyDigest": DIGEST}, DIGEST) == FamilyMarks({}, {})
    assert decisions.family_marks(marked_root(), {}, DIGEST) == FamilyMarks({}, {"familyDigest": DIGEST})


def test_a_forged_family_label_on_a_root_is_written_over() -> None:
    forged = meta("r", labels={resource.LABEL_FAMILY: "forged", resource.LABEL_ROOT: "r"})
    assert decisions.family_marks(forged, {"familyDigest": DIGEST}, DIGEST).labels == {
        resource.LABEL_FAMILY: DIGEST, resource.LABEL_ROOT: "r"}


def test_a_child_outside_its_roots_family_is_refused() -> None:
    assert decisions.refusal_before_pod("the family label does not match", SPEC, ()) == Refuse(
        "InvalidFamily", "the family label does not match")
    # Before its gpuType is looked at.
    assert decisions.refusal_before_pod("no", {**SPEC, "gpuType": "K80"}, {"P40"}) == Refuse("InvalidFamily", "no")


def test_a_gpu_type_the_cluster_does_not_list_is_refused() -> None:
    assert decisions.refusal_before_pod(None, {**SPEC, "gpuType": "K80"}, {"P40", "V100"}) == Refuse(
        "UnknownGpuType", "unknown gpuType 'K80': this cluster has P40, V100")
    assert decisions.refusal_before_pod(None, {**SPEC, "gpuType": "P40"}, {"P40", "V100"}) is None
    assert decisions.refusal_before_pod(None, {**SPEC, "gpuType": "K80"}, ()) is None  # no list: any
    assert decisions.refusal_before_pod(None, SPEC, {"P40"}) is None


# -- start_job: the chain above, then the Pod --------------------------------------------------


def test_a_job_under_a_killed_job_gets_no_pod_and_shows_killing() -> None:
    assert decisions.withheld("leaf", None) is None
    above = decisions.withheld("leaf", "mid")
    assert above is not None and (above["phase"], above["reason"]) == (phases.KILLING, "AncestorKilled")
    itself = decisions.withheld("leaf", "leaf")
    assert itself is not None and (itself["phase"], itself["reason"]) == (phases.KILLING, "Killing")


QUOTA = Refusal("ExceededQuota", "exceeded quota: q", waits=True)


def test_a_pod_over_the_quota_waits_saying_so_once() -> None:
    assert decisions.pod_refused(QUOTA, {}) == WaitForRoom(
        QUOTA, write_status=True, notice=Notice("Warning", "ExceededQuota", "exceeded quota: q"))
    said = {"phase": phases.PENDING, "reason": QUOTA.reason, "message": QUOTA.message}
    assert decisions.pod_refused(QUOTA, said) == WaitForRoom(QUOTA, write_status=False, notice=None)
    # The same reason with the API server's new numbers: the status follows, no new Event.
    assert decisions.pod_refused(QUOTA, {**said, "message": "exceeded quota: q, used 3"}) == WaitForRoom(
        QUOTA, write_status=True, notice=None)


def test_a_pod_beyond_the_limit_range_fails_the_job() -> None:
    refusal = Refusal("ExceededLimitRange", "maximum cpu usage per Container is 1", waits=False)
    assert decisions.pod_refused(refusal, {}) == Refuse("ExceededLimitRange", "maximum cpu usage per Container is 1")


def test_a_created_pod_is_told_in_an_event() -> None:
    assert decisions.pod_created("j") == Notice("Normal", "PodCreated", "created pod j")


def test_a_pod_of_the_name_made_by_an_earlier_run_is_fine_and_anothers_fails_the_job() -> None:
    ours = {"metadata": {"ownerReferences": [{"kind": resource.KIND, "uid": "uid-j"}]}}
    theirs = {"metadata": {"ownerReferences": [{"kind": resource.KIND, "uid": "uid-other"}]}}
    assert decisions.pod_name_taken("j", ours, "uid-j") is None
    assert decisions.pod_name_taken("j", None, "uid-j") is None  # gone since the create
    assert decisions.pod_name_taken("j", theirs, "uid-j") == Refuse(
        "PodNameTaken", "a pod named j exists and does not belong to this job")
    assert decisions.pod_name_taken("j", {"metadata": {}}, "uid-j") is not None


# -- on_job_event ------------------------------------------------------------------------------


def test_a_job_gone_is_forgotten() -> None:
    assert decisions.job_event("DELETED", meta(deleting=True), {}, parent_deleting=False) is JobEvent.FORGET


def test_the_job_a_kill_named_is_marked_killing() -> None:
    assert decisions.job_event("MODIFIED", meta(deleting=True), {"phase": phases.RUNNING},
                               parent_deleting=False) is JobEvent.MARK_KILLING
    assert decisions.job_event(None, meta("c", parent="p", deleting=True), {},
                               parent_deleting=False) is JobEvent.MARK_KILLING
    assert decisions.KILLING_NOTICE == Notice("Normal", "Killing", "deleting the job's pod and every job it submitted")


def test_a_job_deleted_with_a_job_above_it_is_counted_killing_and_not_written() -> None:
    assert decisions.job_event("MODIFIED", meta("c", parent="p", deleting=True), {},
                               parent_deleting=True) is JobEvent.COUNT_KILLING


@pytest.mark.parametrize("type, m, status", [
    ("MODIFIED", meta(deleting=True), {"phase": phases.KILLING}),  # says so already
    ("ADDED", meta(), {}),
    ("MODIFIED", meta(), {"phase": phases.RUNNING}),
    (None, meta("c", parent="p"), {}),
])
def test_any_other_job_event_needs_nothing(type: str | None, m: dict[str, Any], status: dict[str, Any]) -> None:
    assert decisions.job_event(type, m, status, parent_deleting=False) is JobEvent.NOTHING
    assert decisions.job_event(type, m, status, parent_deleting=True) is JobEvent.NOTHING


# -- mirror_pod --------------------------------------------------------------------------------


def pod(phase: str | None = "Running", *, owner: str | None = "j", deleting: bool = False, **fields: Any) -> PodState:
    state = PodState(namespace="ns", name="j", owner=JobRef("ns", owner, f"uid-{owner}") if owner else None,
                     generation="1", deleting=deleting, phase=phase, ip="10.0.0.9" if phase == "Running" else None,
                     start_time=None, reason=None, message=None, ready={}, terminated={})
    return dataclasses.replace(state, **fields)


def view(status: dict[str, Any] | None = None, *, uid: str = "uid-j", deleting: bool = False) -> JobView:
    m: dict[str, Any] = {"uid": uid} | ({"deletionTimestamp": KILLED} if deleting else {})
    return job_view(m, status or {})


@pytest.mark.parametrize("phase", ["Pending", "Running", "Succeeded", "Failed"])
def test_each_pod_phase_is_mirrored_into_the_jobs_status(phase: str) -> None:
    action = decisions.mirror(pod(phase), False, view(), now=NOW)
    assert action == Mirror(status_from_state(pod(phase), now=NOW))
    assert isinstance(action, Mirror) and action.status["phase"] == phase


def test_a_pod_whose_job_the_watch_does_not_hold_yet_is_mirrored() -> None:
    assert isinstance(decisions.mirror(pod(), False, None, now=NOW), Mirror)


def test_a_status_that_says_it_already_is_not_written_again() -> None:
    written = status_from_state(pod(), now="2026-11-27T00:00:00Z")
    assert view(written).mirrored == status_key(written)
    assert decisions.mirror(pod(), False, view(written), now=NOW) is None


def test_a_pod_with_no_job_is_not_mirrored() -> None:
    assert decisions.mirror(pod(owner=None), False, None, now=NOW) is None
    assert decisions.mirror(pod(owner=None), True, None, now=NOW) is None


def test_a_pod_being_killed_or_of_a_job_being_killed_is_not_mirrored() -> None:
    assert decisions.mirror(pod(deleting=True), False, view(), now=NOW) is None
    assert decisions.mirror(pod(), False, view(deleting=True), now=NOW) is None


def test_a_pod_deleted_from_under_a_live_job_fails_it() -> None:
    for phase in (None, phases.PENDING, phases.RUNNING):
        action = decisions.mirror(pod(), True, view({"phase": phase} if phase else {}), now=NOW)
        assert action == PodLost(
            {"phase": phases.FAILED, "reason": "PodDeleted", "completionTime": NOW,
             "message": "pod j was deleted while the job was not being killed"},
            Notice("Warning", "PodDeleted", "the job's pod was deleted; the job has failed"))


@pytest.mark.parametrize("job", [
    view(deleting=True),                           # killed: the garbage collector took it
    view({"phase": phases.SUCCEEDED}),             # finished: its pod may go
    view({"phase": phases.FAILED}),
    None,                                          # the job is gone too
    view({"phase": phases.RUNNING}, uid="uid-a-new-j"),  # the pod of an older job of the name
], ids=["killed", "succeeded", "failed", "job-gone", "older-job"])
def test_a_pod_deleted_otherwise_says_nothing(job: JobView | None) -> None:
    assert decisions.mirror(pod(), True, job, now=NOW) is None


def test_the_pod_of_an_older_job_of_the_name_is_mirrored_as_if_the_job_were_not_held() -> None:
    # As lifecycle always did: the view is another job's, so it neither stops nor skips the write.
    assert decisions.mirror(pod(), False, view(uid="uid-a-new-j", deleting=True), now=NOW) == Mirror(
        status_from_state(pod(), now=NOW))


def test_each_phase_reached_is_told_once_and_pending_never() -> None:
    running = status_from_state(pod("Running"), now=NOW)
    assert decisions.mirrored_notice(None, running, "j") == Notice("Normal", "JobRunning", "pod j is running")
    assert decisions.mirrored_notice(phases.PENDING, running, "j") == Notice("Normal", "JobRunning", "pod j is running")
    assert decisions.mirrored_notice(phases.RUNNING, running, "j") is None
    assert decisions.mirrored_notice(None, status_from_state(pod("Pending"), now=NOW), "j") is None
    failed = status_from_state(pod("Failed", terminated={"exitCode": 3}), now=NOW)
    assert decisions.mirrored_notice(phases.RUNNING, failed, "j") == Notice(
        "Warning", "JobFailed", "container exited with code 3")


def test_the_first_pod_ip_is_the_one_after_no_phase_or_pending() -> None:
    running = status_from_state(pod("Running"), now=NOW)
    assert decisions.first_ip(None, running) and decisions.first_ip(phases.PENDING, running)
    assert not decisions.first_ip(phases.RUNNING, running)
    assert not decisions.first_ip(None, status_from_state(pod("Pending"), now=NOW))


def test_a_storage_path_against_dlws_rules_is_refused_for_a_job_applied_by_hand() -> None:
    assert decisions.refusal_before_pod(None, {**SPEC, "workPath": "../bob"}, ()) == Refuse(
        "InvalidPath", "workPath must not contain '..'")
    assert decisions.refusal_before_pod(None, {**SPEC, "userName": "a/b"}, ()).reason == "InvalidPath"  # type: ignore[union-attr]


# -- cleanup: ended families, ttlSecondsAfterFinished after their end ----------------------------

ENDED_AT = 1_000_000.0  # epoch seconds of "1970-01-12T13:46:40Z"


def family_views(phases_by_name: dict[str, str | None], *, parents: dict[str, str],
                 ttl: dict[str, int] | None = None, gitops: tuple[str, ...] = ()) -> dict[tuple[str, str], JobView]:
    """A family of views: name -> phase (finished ones ended at ENDED_AT)."""
    views = {}
    for name, phase in phases_by_name.items():
        labels = {resource.LABEL_PARENT: parents[name]} if name in parents else {}
        labels |= {"kustomize.toolkit.fluxcd.io/name": "apps"} if name in gitops else {}
        meta = {"uid": f"uid-{name}", "labels": labels,
                "ownerReferences": [{"kind": resource.KIND, "name": parents[name], "uid": f"uid-{parents[name]}"}]
                if name in parents else []}
        status = {"phase": phase, "completionTime": "1970-01-12T13:46:40Z"} if phase else {}
        spec = {"ttlSecondsAfterFinished": (ttl or {})[name]} if name in (ttl or {}) else {}
        views[("ns", name)] = job_view(meta, status, spec)
    return views


THREE_LEVELS = {"parents": {"child": "root", "grandchild": "child"}}


def test_a_finished_family_is_deleted_at_its_root_once_its_ttl_has_passed() -> None:
    views = family_views({"root": phases.SUCCEEDED, "child": phases.FAILED, "grandchild": phases.SUCCEEDED},
                         **THREE_LEVELS)
    assert decisions.cleanup(views, ENDED_AT + 59, 60) == decisions.Cleanup([], ENDED_AT + 60)
    assert decisions.cleanup(views, ENDED_AT + 60, 60).delete == [(("ns", "root"), "uid-root")]
    assert decisions.cleanup(views, ENDED_AT + 10**9, None) == decisions.Cleanup([], None)  # no TTL: kept


def test_nothing_above_a_running_job_is_deleted_and_a_finished_branch_goes_alone() -> None:
    views = family_views({"root": phases.SUCCEEDED, "child": phases.SUCCEEDED, "grandchild": phases.RUNNING,
                          "other": phases.SUCCEEDED},
                         parents={"child": "root", "grandchild": "child", "other": "root"})
    assert decisions.cleanup(views, ENDED_AT + 3600, 60).delete == [(("ns", "other"), "uid-other")]


def test_a_jobs_own_ttl_wins_and_a_longer_one_below_holds_the_family() -> None:
    views = family_views({"root": phases.SUCCEEDED, "child": phases.SUCCEEDED}, parents={"child": "root"},
                         ttl={"root": 5, "child": 600})
    plan = decisions.cleanup(views, ENDED_AT + 60, 60)
    assert plan == decisions.Cleanup([], ENDED_AT + 600)


def test_a_gitops_managed_job_gets_only_its_own_ttl() -> None:
    views = family_views({"root": phases.SUCCEEDED}, parents={}, gitops=("root",))
    assert decisions.cleanup(views, ENDED_AT + 3600, 60).delete == []
    views = family_views({"root": phases.SUCCEEDED}, parents={}, gitops=("root",), ttl={"root": 0})
    assert decisions.cleanup(views, ENDED_AT, 60).delete == [(("ns", "root"), "uid-root")]


def test_jobs_in_a_loop_of_parent_labels_are_never_deleted() -> None:
    views = family_views({"a": phases.SUCCEEDED, "b": phases.SUCCEEDED}, parents={"a": "b", "b": "a"})
    assert decisions.cleanup(views, ENDED_AT + 3600, 0).delete == []


def test_a_kill_record_lasts_as_long_as_ended_jobs_do() -> None:
    assert decisions.record_due_at(100.0, None, 60) == 160.0
    assert decisions.record_due_at(100.0, 5, 60) == 105.0
    assert decisions.record_due_at(100.0, None, None) == float("inf")
