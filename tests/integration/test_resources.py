"""CPU, memory, GPU type and preemption of jobs on a real control plane (kwok nodes): the
defaults, the Pod they make, a job that cannot fit, and a namespace's quota and limits."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes.aio import client

from dlws_contract import resource
from tests.integration.jobs import Jobs, eventually, quota
from tests.integration.shim_fixture import Root, ShimClient, make_root

pytestmark = pytest.mark.cluster

DLWS_DEFAULTS = {"cpurequest": "500m", "cpulimit": "500m", "memoryrequest": "2048M", "memorylimit": "2560M"}


@pytest.fixture
async def root(api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> Root:
    return await make_root(api, namespace)


@pytest.fixture
def shim_client(http: Any, shim: Any) -> ShimClient:
    return ShimClient(http, shim.url)


async def detail(shim_client: ShimClient, root: Root, job_id: str) -> dict[str, Any]:
    status, body, _ = await shim_client.call("JobDetail", root.token, jobId=job_id)
    assert status == 200, body
    return body


async def detail_when(shim_client: ShimClient, root: Root, job_id: str, what: str, pred: Any,
                      timeout: float = 60.0) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        got = await detail(shim_client, root, job_id)
        return got if pred(got) else None
    return await eventually(probe, timeout=timeout, what=what)


def pod_resources(pod: Any) -> dict[str, Any]:
    wanted = pod.spec.containers[0].resources
    return {"requests": dict(wanted.requests or {}), "limits": dict(wanted.limits or {})}


async def test_a_job_naming_nothing_gets_dlws_defaults_shown_in_status_and_detail(
        api: client.ApiClient, namespace: str, root: Root, shim_client: ShimClient, cluster: Any) -> None:
    job_id = (await shim_client.submit(root.token))["jobId"]
    jobs = Jobs(api, namespace)
    job = await jobs.with_status(job_id, lambda s: bool(s.get("resources")), what="status.resources")
    assert job["status"]["resources"] == {**DLWS_DEFAULTS, "priorityClassName": "dlws-non-preemptible"}
    pod = await jobs.core.read_namespaced_pod(job_id, namespace)
    assert pod_resources(pod) == {"requests": {"cpu": "500m", "memory": "2048M"},
                                  "limits": {"cpu": "500m", "memory": "2560M"}}
    assert pod.status.qos_class == "Burstable"  # not BestEffort
    got = await detail(shim_client, root, job_id)
    assert {k: got["jobParams"][k] for k in DLWS_DEFAULTS} == DLWS_DEFAULTS
    assert "memorylimit: 2560M" in cluster.kubectl("get", "dlwsjob", job_id, "-n", namespace, "-o", "yaml").stdout
    wide = cluster.kubectl("get", "dlwsjobs", job_id, "-n", namespace, "-o", "wide").stdout.splitlines()
    header, row = wide[0].split(), wide[1]
    assert {"REQ", "LIM"} <= set(header) and "2048M" in row and "2560M" in row and "500m" in row
    # A root applied as YAML (GitOps), naming no resources, gets the same.
    applied = await jobs.with_status(root.name, lambda s: bool(s.get("resources")), what="root's resources")
    assert {k: applied["status"]["resources"][k] for k in DLWS_DEFAULTS} == DLWS_DEFAULTS


async def test_requests_limits_gpu_type_and_preemption_reach_the_pod(
        api: client.ApiClient, namespace: str, root: Root, shim_client: ShimClient) -> None:
    job_id = (await shim_client.submit(root.token, cpurequest="1", cpulimit="2", memorylimit="64M",
                                       gpuType="P40", preemptionAllowed="1"))["jobId"]
    jobs = Jobs(api, namespace)
    pod = await eventually(lambda: _pod(jobs, job_id), what="the job's pod")
    assert pod_resources(pod) == {"requests": {"cpu": "1", "memory": "64M"},
                                  "limits": {"cpu": "2", "memory": "64M"}}
    assert pod.spec.node_selector == {"gpuType": "P40"}
    assert (pod.spec.priority_class_name, pod.spec.priority) == ("dlws-preemptible", -100)
    # No kwok node has a P40: the scheduler says so, and JobDetail passes it on.
    got = await detail_when(shim_client, root, job_id, "the scheduler's reason",
                            lambda d: "selector" in (d["jobStatusDetail"][0]["message"] or ""))
    assert got["jobStatus"] == "scheduling"
    params = got["jobParams"]
    assert (params["cpurequest"], params["cpulimit"], params["memoryrequest"], params["memorylimit"],
            params["gpuType"], params["preemptionAllowed"]) == ("1", "2", "64M", "64M", "P40", True)


async def _pod(jobs: Jobs, name: str) -> Any:
    pods = await jobs.pods(f"dlworkspace.io/job={name}")
    return pods[0] if pods else None


async def test_a_job_that_cannot_fit_stays_scheduling_with_the_schedulers_reason(
        root: Root, shim_client: ShimClient) -> None:
    job_id = (await shim_client.submit(root.token, cpurequest="2000"))["jobId"]
    got = await detail_when(shim_client, root, job_id, "Insufficient cpu in JobDetail",
                            lambda d: "Insufficient cpu" in (d["jobStatusDetail"][0]["message"] or ""))
    assert got["jobStatus"] == "scheduling" and got["jobStatusDetail"][0]["reason"] == "Unschedulable"
    assert got["errorMsg"] == ""


async def test_exceeded_quota_is_shown_and_the_pod_is_made_once_the_quota_allows(
        api: client.ApiClient, namespace: str, root: Root, shim_client: ShimClient) -> None:
    jobs = Jobs(api, namespace)
    await jobs.running_with_ip(root.name)  # its 500m counts against the quota
    await quota(jobs.core, namespace, "1")
    job_id = (await shim_client.submit(root.token, cpurequest="1"))["jobId"]
    got = await detail_when(shim_client, root, job_id, "ExceededQuota in JobDetail",
                            lambda d: d["jobStatusDetail"][0]["reason"] == "ExceededQuota")
    message = got["jobStatusDetail"][0]["message"]
    assert "exceeded quota: jobs" in message and got["jobStatus"] == "scheduling"
    assert got["jobParams"]["cpurequest"] == "1"
    job = await jobs.get(job_id)
    assert job is not None and (job["status"]["phase"], job["status"]["reason"]) == ("Pending", "ExceededQuota")
    assert await _pod(jobs, job_id) is None
    # Three refused tries (the retries after 2 and 4 s): still one Event, and no kopf error Events.
    await eventually(lambda: _tried(jobs, job_id, 3), timeout=30, what="three tries of the pod")
    events = [e for e in (await jobs.core.list_namespaced_event(namespace)).items
              if e.involved_object.name == job_id]
    refusals = [e for e in events if e.reason == "ExceededQuota"]
    assert len(refusals) == 1 and "exceeded quota: jobs" in refusals[0].message
    assert not [e for e in events if "failed temporarily" in (e.message or "")]

    raised = time.monotonic()
    await quota(jobs.core, namespace, "4")
    await eventually(lambda: _pod(jobs, job_id), timeout=60, interval=0.2, what="the pod once quota allows")
    made = time.monotonic() - raised
    running = await jobs.with_status(job_id, lambda s: s.get("phase") == "Running", what="Running")
    assert running["status"].get("reason") in (None, "") and made < 45


async def _tried(jobs: Jobs, name: str, times: int) -> bool:
    """Whether the operator has tried the job's Pod `times` times and been refused: the
    retries in kopf's progress record on the job, kept while its handler waits
    (dlws_operator.kopf_config.ProgressAnnotations)."""
    job = await jobs.get(name)
    annotations = ((job or {}).get("metadata") or {}).get("annotations") or {}
    tries = 0
    for key, value in annotations.items():
        if key.startswith(f"operator.{resource.GROUP}/") and value.startswith("{"):
            tries = max(tries, json.loads(value).get("retries") or 0)
    return tries >= times


async def test_a_limit_range_refusal_fails_the_job_with_the_api_servers_message(
        api: client.ApiClient, namespace: str, root: Root, shim_client: ShimClient) -> None:
    jobs = Jobs(api, namespace)
    await jobs.core.create_namespaced_limit_range(namespace, {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "small"},
        "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}})
    job_id = (await shim_client.submit(root.token, cpulimit="2"))["jobId"]
    got = await detail_when(shim_client, root, job_id, "failed", lambda d: d["jobStatus"] == "failed")
    assert got["jobStatusDetail"][0]["reason"] == "ExceededLimitRange"
    assert "maximum cpu usage per Container is 1" in got["errorMsg"]
    assert await _pod(jobs, job_id) is None


async def test_the_api_server_refuses_bad_resources_in_a_job_applied_by_hand(
        api: client.ApiClient, namespace: str, cluster: Any) -> None:
    """The CRD's own checks (the shim's, before any API call, are in
    tests/unit/test_shim_http.py::test_bad_parameters_get_clear_errors_and_create_nothing)."""
    manifest = ("apiVersion: dlworkspace.io/v1alpha1\nkind: DLWSJob\nmetadata: {name: bad}\n"
                "spec: {jobName: x, image: busybox, jobType: training, cpurequest: '2', cpulimit: '1', "
                "memorylimit: 2GB}\n")
    out = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest, check=False)
    assert out.returncode != 0
    assert "cpurequest may not exceed cpulimit" in out.stderr and "spec.memorylimit" in out.stderr, out.stderr
    assert await Jobs(api, namespace).list_jobs() == []
