"""DLWSJob status mirrored from its Pod: pure functions."""
from typing import Any

from dlws_contract import phases
from dlws_contract.resource import GENERATION_ANNOTATION
from dlws_operator.status import killing_status, status_from_pod, withheld_status

NOW = "2026-11-27T12:00:00Z"


def pod(phase: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "annotations": {GENERATION_ANNOTATION: "1"}},
            "status": {"phase": phase, **status}}


def test_pending_pod_gives_pending_job_without_ip() -> None:
    s = status_from_pod(pod("Pending"), now=NOW)
    assert s["phase"] == phases.PENDING
    assert s["podIP"] is None
    assert s["conditions"][0]["status"] == "False"
    assert s["observedGeneration"] == 1


def test_running_ready_pod_gives_ip_and_ready_condition() -> None:
    s = status_from_pod(pod("Running", podIP="10.244.0.5", startTime=NOW,
                            conditions=[{"type": "Ready", "status": "True",
                                         "lastTransitionTime": "2026-11-27T11:00:00Z"}]), now=NOW)
    assert (s["phase"], s["podIP"], s["podName"]) == (phases.RUNNING, "10.244.0.5", "p")
    assert s["conditions"][0] | {} == {
        "type": "Ready", "status": "True", "reason": "PodReady", "message": "pod p is running",
        "lastTransitionTime": "2026-11-27T11:00:00Z", "observedGeneration": 1}


def test_failed_pod_reports_the_exit_code() -> None:
    s = status_from_pod(pod("Failed", containerStatuses=[{"state": {"terminated": {
        "exitCode": 3, "reason": "Error", "finishedAt": "2026-11-27T11:30:00Z"}}}]), now=NOW)
    assert s["phase"] == phases.FAILED
    assert s["message"] == "container exited with code 3"
    assert s["completionTime"] == "2026-11-27T11:30:00Z"


def test_a_failed_init_container_says_why_and_a_finished_one_says_nothing() -> None:
    refused = {"state": {"terminated": {"exitCode": 1, "reason": "Error", "message": "dlws: x passes through a "
                                        "symbolic link (/dlws-user/x): refused\n"}}}
    waiting = {"state": {"waiting": {"reason": "PodInitializing"}}}
    s = status_from_pod(pod("Failed", initContainerStatuses=[refused], containerStatuses=[waiting]), now=NOW)
    assert s["phase"] == phases.FAILED and "symbolic link" in s["message"] and s["reason"] == "Error"
    done = {"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    s = status_from_pod(pod("Running", initContainerStatuses=[done]), now=NOW)
    assert (s["reason"], s["message"], s["completionTime"]) == (None, None, None)


def test_succeeded_pod_without_container_times_still_gets_completion_time() -> None:
    s = status_from_pod(pod("Succeeded"), now=NOW)
    assert (s["phase"], s["completionTime"]) == (phases.SUCCEEDED, NOW)


def test_a_job_being_killed_shows_killing() -> None:
    s = killing_status()
    assert s["phase"] == phases.KILLING
    assert s["reason"] == "Killing"


def test_a_job_withheld_under_a_killed_job_shows_killing_and_names_it() -> None:
    s = withheld_status("leaf", "mid")
    assert (s["phase"], s["reason"]) == ("Killing", "AncestorKilled") and "job mid above it" in s["message"]
    own = withheld_status("leaf", "leaf")
    assert (own["phase"], own["reason"]) == ("Killing", "Killing") and "the job is being killed" in own["message"]
