"""JobDetail: a DLWSJob told in DLWorkspace's words."""
from typing import Any

import pytest

from api_shim.detail import job_detail
from dlws_contract import resource


def job(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "c1", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {resource.LABEL_FAMILY: "d", resource.LABEL_PARENT: "r1",
                                resource.LABEL_ROOT: "r1"}},
        "spec": {"jobName": "n", "image": "busybox", "jobType": "training", "userName": "alice",
                 "userId": 1000, "interactivePorts": [8888]},
        "status": status,
    }


@pytest.mark.parametrize("phase,word", [(None, "queued"), ("Pending", "scheduling"),
                                        ("Running", "running"), ("Succeeded", "finished"),
                                        ("Failed", "failed"), ("Killing", "killing")])
def test_job_status_speaks_dlws(phase: str | None, word: str) -> None:
    assert job_detail(job(phase=phase))["jobStatus"] == word


def test_a_job_being_deleted_is_killing_before_the_operator_says_so() -> None:
    obj = job(phase="Running")
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:01Z"
    assert job_detail(obj)["jobStatus"] == "killing"


def test_detail_fields() -> None:
    d = job_detail(job(phase="Running", podIP="10.1.2.3", podName="c1"))
    assert d["jobId"] == "c1" and d["jobName"] == "n" and d["jobType"] == "training"
    assert (d["userName"], d["userId"]) == ("alice", 1000)
    assert d["parentJobId"] == "r1" and d["rootJobId"] == "r1" and d["isParent"] == 0
    assert d["podIP"] == "10.1.2.3" and d["jobTime"] == "2026-01-01T00:00:00Z"
    dns = "job-c1.ns.svc.cluster.local"
    assert d["endpoints"] == [{"port": 8888, "address": "10.1.2.3:8888", "podIP": "10.1.2.3",
                               "serviceName": dns, "serviceAddress": f"{dns}:8888"}]
    assert d["jobParams"]["image"] == "busybox"
    assert d["errorMsg"] == ""


def test_a_root_is_a_parent() -> None:
    obj = job()
    del obj["metadata"]["labels"][resource.LABEL_PARENT]
    assert job_detail(obj)["isParent"] == 1 and job_detail(obj)["parentJobId"] is None


def test_error_message_of_a_failed_job() -> None:
    assert job_detail(job(phase="Failed", message="exit 3"))["errorMsg"] == "exit 3"


def test_detail_has_no_token_field() -> None:
    d = job_detail(job(phase="Running"))
    assert "familyToken" not in d and "familyToken" not in d["jobParams"]


def test_job_params_show_the_storage_paths_resolved_also_for_a_root_applied_by_hand() -> None:
    from api_shim.detail import job_detail
    root = {"metadata": {"name": "r", "creationTimestamp": "2026-12-07T21:28:25Z"},
            "spec": {"jobName": "r", "image": "i", "jobType": "t", "userName": "alice", "dataPath": "imagenet"}}
    params = job_detail(root)["jobParams"]
    assert (params["dataPath"], params["workPath"], params["jobPath"]) == ("imagenet", "alice", "alice/jobs/261207/r")
    bad = {**root, "spec": {**root["spec"], "workPath": "../x"}}
    assert job_detail(bad)["jobParams"]["workPath"] == "../x"  # as given: such a job has no Pod


def test_endpoints_name_the_service_before_the_pod_has_an_address_and_node_ports_when_on() -> None:
    waiting = job_detail(job(phase="Pending"))["endpoints"]
    assert waiting == [{"port": 8888, "address": None, "podIP": None, "serviceName": "job-c1.ns.svc.cluster.local",
                        "serviceAddress": "job-c1.ns.svc.cluster.local:8888"}]
    with_node_port = job_detail(job(phase="Running", podIP="10.1.2.3", nodePorts=[{"port": 8888, "nodePort": 30007}]))
    assert with_node_port["endpoints"][0]["nodePort"] == 30007
