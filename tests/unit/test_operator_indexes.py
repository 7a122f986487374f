"""What the operator's indexes remember of a job: pure functions."""
from dlws_operator.job_view import job_view
from dlws_operator.status import status_from_pod, status_key

NOW = "2026-11-27T12:00:00Z"
POD = {"metadata": {"name": "j"}, "status": {"phase": "Running", "podIP": "10.0.0.1",
                                             "conditions": [{"type": "Ready", "status": "True"}]}}


def test_a_status_written_from_a_pod_is_recognised_when_the_pod_says_it_again() -> None:
    written = status_from_pod(POD, now=NOW)
    assert status_key(written) == status_key(status_from_pod(POD, now="2026-11-27T13:00:00Z"))


def test_a_new_ip_or_phase_is_a_change() -> None:
    before = status_key(status_from_pod(POD, now=NOW))
    moved = {**POD, "status": {**POD["status"], "podIP": "10.0.0.2"}}
    done = {**POD, "status": {"phase": "Succeeded"}}
    assert status_key(status_from_pod(moved, now=NOW)) != before
    assert status_key(status_from_pod(done, now=NOW)) != before


def test_job_view_reads_deletion_and_the_operators_digest() -> None:
    view = job_view({"uid": "u", "deletionTimestamp": NOW, "labels": {"dlworkspace.io/family": "d"}},
                    {"familyDigest": "d", "phase": "Killing"})
    assert (view.uid, view.deleting, view.family_digest) == ("u", True, "d")
    assert view.mirrored[0] == "Killing"


def test_a_job_without_status_has_an_empty_view() -> None:
    view = job_view({"uid": "u"}, {})
    assert not view.deleting and view.family_digest is None
    assert view.mirrored == (None, None, None, None, None, None, False, ())
