"""CPU, memory, GPU type and preemption of a job: parsing, DLWS's pairing and defaults, the
Pod they make, and what status and JobDetail say of them. Pure functions only."""
from fractions import Fraction
from typing import Any

import pytest

from api_shim.detail import job_detail
from dlws_contract.compute import ResourceDefaults, effective_resources
from dlws_contract.quantity import InvalidQuantity, parse_quantity
from dlws_contract.spec import InvalidJob, spec_from_parameters, unknown_gpu_type
from dlws_operator.pod_spec import build_pod
from dlws_operator.config import OperatorConfig
from dlws_operator.status import status_from_pod, waiting_status
from tests.unit.test_pod_spec import job
from tests.unit.test_spec import SEED

NOW = "2026-12-01T00:00:00Z"
DLWS = ResourceDefaults()


@pytest.mark.parametrize("text, value", [
    ("500m", Fraction(1, 2)), ("2", 2), ("1.5", Fraction(3, 2)), ("2048M", 2048 * 10**6),
    ("4Gi", 4 * 2**30), ("64Mi", 64 * 2**20), ("1e3", 1000), ("1E", 10**18), (".5", Fraction(1, 2)),
    ("128974848", 128974848), ("129e6", 129 * 10**6)])
def test_quantities_parse_exactly(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "-1", "1.", "1 Gi", "1gi", "1Mb", "abc", "1e", "0x10", "1" * 40])
def test_malformed_quantities_are_refused(text: str) -> None:
    with pytest.raises(InvalidQuantity):
        parse_quantity(text)


def test_dlws_defaults_when_a_job_names_nothing() -> None:
    assert effective_resources({}, DLWS) == {
        "cpurequest": "500m", "cpulimit": "500m", "memoryrequest": "2048M", "memorylimit": "2560M"}


@pytest.mark.parametrize("given, got", [
    ({"memorylimit": "64M"}, {"memoryrequest": "64M", "memorylimit": "64M"}),
    ({"memoryrequest": "4G"}, {"memoryrequest": "4G", "memorylimit": "4G"}),
    ({"cpurequest": "2"}, {"cpurequest": "2", "cpulimit": "2"}),
    ({"cpulimit": "250m"}, {"cpurequest": "250m", "cpulimit": "250m"}),
    ({"cpurequest": "1", "cpulimit": "3"}, {"cpurequest": "1", "cpulimit": "3"}),
])
def test_one_of_a_pair_sets_the_other_like_dlws(given: dict[str, str], got: dict[str, str]) -> None:
    effective = effective_resources(given, DLWS)
    assert {k: effective[k] for k in got} == got
    untouched = ({"cpurequest", "cpulimit"} if "memorylimit" in got else {"memoryrequest", "memorylimit"})
    assert {k: effective[k] for k in untouched} == {k: getattr(DLWS, k) for k in untouched}


def test_defaults_must_pair_sensibly() -> None:
    with pytest.raises(ValueError, match="not above"):
        ResourceDefaults(cpurequest="2", cpulimit="1")
    with pytest.raises(ValueError, match="quantity"):
        ResourceDefaults(memorylimit="lots")


def test_submit_parameters_carry_resources_gpu_type_and_preemption() -> None:
    spec = spec_from_parameters({**SEED, "cpurequest": "1", "cpulimit": "2", "memoryrequest": "1Gi",
                                 "memorylimit": " 2Gi ", "gpuType": "P40", "preemptionAllowed": "1"})
    assert (spec["cpurequest"], spec["cpulimit"], spec["memoryrequest"], spec["memorylimit"]) == ("1", "2", "1Gi", "2Gi")
    assert spec["gpuType"] == "P40" and spec["preemptionAllowed"] is True
    plain = spec_from_parameters(SEED)
    assert not {"cpurequest", "cpulimit", "memoryrequest", "memorylimit", "gpuType", "preemptionAllowed"} & set(plain)


def test_json_numbers_are_quantities_too() -> None:
    assert spec_from_parameters({**SEED, "cpulimit": 2, "memorylimit": 1e9})["cpulimit"] == "2"


@pytest.mark.parametrize("params, message", [
    ({"cpurequest": "2", "cpulimit": "1"}, "cpurequest 2 is above cpulimit 1: a request may not exceed its limit"),
    ({"memoryrequest": "3Gi", "memorylimit": "2Gi"}, "memoryrequest 3Gi is above memorylimit 2Gi"),
    ({"cpurequest": "lots"}, "cpurequest must be a Kubernetes quantity such as 500m or 2, not 'lots'"),
    ({"memorylimit": "2GB"}, "memorylimit must be a Kubernetes quantity such as 2048M or 4Gi, not '2GB'"),
    ({"cpulimit": "0"}, "cpulimit must be above 0"),
    ({"cpulimit": "-1"}, "Kubernetes quantity"),
    ({"cpulimit": "5000"}, "cpulimit must be at most 4096 cores"),
    ({"memorylimit": "2Ei"}, "memorylimit must be at most 1Pi"),
    ({"memorylimit": True}, "Kubernetes quantity"),
    ({"gpuType": "P40; rm -rf"}, "gpuType must be a GPU type name"),
    ({"gpuType": "x" * 64}, "gpuType must be a GPU type name"),
    ({"preemptionAllowed": "perhaps"}, "preemptionAllowed must be 0 or 1"),
])
def test_bad_resources_are_refused_with_clear_messages(params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidJob, match=message.replace("(", r"\(")):
        spec_from_parameters({**SEED, **params})


def container(pod: dict[str, Any]) -> dict[str, Any]:
    return dict(pod["spec"]["containers"][0])


def test_a_pod_without_resources_given_gets_dlws_defaults_and_is_never_best_effort() -> None:
    assert container(build_pod(job()))["resources"] == {
        "requests": {"cpu": "500m", "memory": "2048M"}, "limits": {"cpu": "500m", "memory": "2560M"}}


def test_the_operators_defaults_apply() -> None:
    config = OperatorConfig(resource_defaults=ResourceDefaults("10m", "2", "32M", "1G"))
    assert container(build_pod(job(), config=config))["resources"] == {
        "requests": {"cpu": "10m", "memory": "32M"}, "limits": {"cpu": "2", "memory": "1G"}}


def test_a_pod_gets_the_jobs_own_requests_and_limits_beside_its_gpus() -> None:
    pod = build_pod(job(cpurequest="1", cpulimit="2", memorylimit="64M", resourcegpu=1))
    assert container(pod)["resources"] == {
        "requests": {"cpu": "1", "memory": "64M"}, "limits": {"cpu": "2", "memory": "64M", "nvidia.com/gpu": "1"}}


def test_gpu_type_is_a_node_selector_on_the_configured_label() -> None:
    assert "nodeSelector" not in build_pod(job())["spec"]
    assert build_pod(job(gpuType="P40"))["spec"]["nodeSelector"] == {"gpuType": "P40"}
    config = OperatorConfig(gpu_type_label="nvidia.com/gpu.product")
    pod = build_pod(job(gpuType="Tesla-V100"), config=config)
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "Tesla-V100"}


def test_preemption_picks_the_priority_class() -> None:
    assert build_pod(job())["spec"]["priorityClassName"] == "dlws-non-preemptible"
    assert build_pod(job(preemptionAllowed=False))["spec"]["priorityClassName"] == "dlws-non-preemptible"
    assert build_pod(job(preemptionAllowed=True))["spec"]["priorityClassName"] == "dlws-preemptible"
    config = OperatorConfig(priority_class="", preemptible_class="low")
    assert "priorityClassName" not in build_pod(job(), config=config)["spec"]
    assert build_pod(job(preemptionAllowed=True), config=config)["spec"]["priorityClassName"] == "low"


def test_status_says_what_the_pod_got() -> None:
    pod = build_pod(job(memorylimit="64M"))
    pod["status"] = {"phase": "Running"}
    assert status_from_pod(pod, now=NOW)["resources"] == {
        "cpurequest": "500m", "cpulimit": "500m", "memoryrequest": "64M", "memorylimit": "64M",
        "priorityClassName": "dlws-non-preemptible"}


def test_an_unschedulable_pod_passes_the_schedulers_reason_on() -> None:
    message = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]}}
    status = status_from_pod(pod, now=NOW)
    assert (status["phase"], status["reason"], status["message"]) == ("Pending", "Unschedulable", message)
    scheduled = {"metadata": {"name": "p"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "True"}]}}
    assert status_from_pod(scheduled, now=NOW)["reason"] is None


def test_an_oom_killed_container_is_the_jobs_reason() -> None:
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Failed", "containerStatuses": [
        {"state": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": NOW}}}]}}
    status = status_from_pod(pod, now=NOW)
    assert (status["phase"], status["reason"], status["message"]) == ("Failed", "OOMKilled", "container exited with code 137")


def test_job_detail_shows_what_the_job_got_in_dlws_job_params() -> None:
    obj = {"metadata": {"name": "j", "labels": {}}, "spec": {"jobName": "n", "memorylimit": "64M", "gpuType": "P40"},
           "status": {"phase": "Running", "resources": {"cpurequest": "500m", "cpulimit": "500m",
                                                       "memoryrequest": "64M", "memorylimit": "64M",
                                                       "priorityClassName": "dlws-non-preemptible"}}}
    params = job_detail(obj)["jobParams"]
    assert {k: params[k] for k in ("cpurequest", "cpulimit", "memoryrequest", "memorylimit", "gpuType")} == {
        "cpurequest": "500m", "cpulimit": "500m", "memoryrequest": "64M", "memorylimit": "64M", "gpuType": "P40"}
    assert "priorityClassName" not in params
    assert "cpurequest" not in job_detail({**obj, "status": {}})["jobParams"]  # not known before a Pod


def test_a_job_waiting_for_quota_says_why_and_what_it_asks() -> None:
    status = waiting_status("ExceededQuota", "exceeded quota: q", {"cpurequest": "1"}, now=NOW)
    assert (status["phase"], status["reason"], status["message"]) == ("Pending", "ExceededQuota", "exceeded quota: q")
    assert status["resources"] == {"cpurequest": "1"} and status["conditions"][0]["reason"] == "ExceededQuota"
    detail = job_detail({"metadata": {"name": "j"}, "spec": {}, "status": status})
    assert detail["jobStatus"] == "scheduling"
    assert detail["jobStatusDetail"][0]["reason"] == "ExceededQuota"
    assert detail["jobStatusDetail"][0]["message"] == "exceeded quota: q"


def test_a_cluster_listing_its_gpu_types_refuses_others() -> None:
    assert spec_from_parameters({**SEED, "gpuType": "V100"}, gpu_types={"P40", "V100"})["gpuType"] == "V100"
    with pytest.raises(InvalidJob, match="unknown gpuType 'K80': this cluster has P40, V100"):
        spec_from_parameters({**SEED, "gpuType": "K80"}, gpu_types={"P40", "V100"})
    assert spec_from_parameters({**SEED, "gpuType": "K80"})["gpuType"] == "K80"  # no list: any


def test_the_shim_and_the_operator_tell_an_unknown_gpu_type_in_one_message() -> None:
    # spec_from_parameters (the shim) and decisions.refusal_before_pod (the operator) both say this.
    assert unknown_gpu_type("K80", {"P40", "V100"}) == "unknown gpuType 'K80': this cluster has P40, V100"
    assert unknown_gpu_type("P40", {"P40", "V100"}) is None
    assert unknown_gpu_type("K80", frozenset()) is None  # no list: any
