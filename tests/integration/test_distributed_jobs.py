"""A distributed job (PSDistJob) on kwok's nodes: one DLWSJob, its headless Service and a
Pod per member, one status of them all, and the Pods a finished job stops. Names
resolving and processes running are the real node's (tests/e2e/test_real_jobs.py)."""
from typing import Any

import pytest
from kubernetes.aio import client

from dlws_contract import distributed, phases, resource
from tests.integration.jobs import Jobs, eventually

pytestmark = pytest.mark.cluster
DIST = {"jobtrainingtype": "PSDistJob", "numps": 1, "numpsworker": 2}


@pytest.fixture
def jobs(api: client.ApiClient, namespace: str, operator: Any) -> Jobs:
    return Jobs(api, namespace)


async def live_pods(jobs: Jobs, job: str) -> dict[str, Any]:
    return {p.metadata.name: p for p in await jobs.pods(f"{resource.LABEL_JOB}={job}")
            if not p.metadata.deletion_timestamp}


async def complete(jobs: Jobs, pod: str, outcome: str) -> None:
    await jobs.core.patch_namespaced_pod(
        pod, jobs.ns, {"metadata": {"annotations": {"devcluster.dlworkspace.io/complete": outcome}}})


async def test_a_ps_dist_job_runs_as_its_pods_behind_a_headless_service(jobs: Jobs, cluster: Any) -> None:
    await jobs.root("dist", **DIST)
    job = await jobs.with_status("dist", lambda s: s.get("phase") == phases.RUNNING, what="Running")
    pods = await live_pods(jobs, "dist")
    assert sorted(pods) == ["dist-ps0", "dist-worker0", "dist-worker1"]
    for pod in pods.values():  # each owned by the one job: a kill removes them all
        assert [o.uid for o in pod.metadata.owner_references] == [job["metadata"]["uid"]]
    assert pods["dist-worker1"].spec.hostname == "worker-1"
    assert pods["dist-worker1"].spec.subdomain == distributed.service_name("dist")
    service = await jobs.core.read_namespaced_service(distributed.service_name("dist"), jobs.ns)
    assert service.spec.cluster_ip == "None" and service.spec.selector == {resource.LABEL_JOB: "dist"}
    status = job["status"]
    assert status["podIP"] == pods["dist-ps0"].status.pod_ip and status["readyPods"] == "3/3"
    assert [(p["host"], p["podIP"]) for p in status["pods"]] == [
        (h, pods[n].status.pod_ip) for h, n in (("ps-0", "dist-ps0"), ("worker-0", "dist-worker0"),
                                                ("worker-1", "dist-worker1"))]
    out = cluster.kubectl("get", "dlwsjobs", "-n", jobs.ns, "dist").stdout
    assert "PODS" in out and "3/3" in out


async def test_finished_once_every_worker_has_then_its_ps_is_stopped(jobs: Jobs) -> None:
    await jobs.root("done", **DIST)
    await jobs.with_status("done", lambda s: s.get("phase") == phases.RUNNING, what="Running")
    await complete(jobs, "done-worker0", "Succeeded")
    await jobs.with_status("done", lambda s: [p["phase"] for p in s.get("pods", [])][1] == "Succeeded",
                           what="worker-0 Succeeded")
    assert (await jobs.get("done") or {})["status"]["phase"] == phases.RUNNING  # worker-1 still runs
    await complete(jobs, "done-worker1", "Succeeded")
    job = await jobs.with_status("done", lambda s: s.get("phase") == phases.SUCCEEDED, what="Succeeded")
    assert job["status"]["reason"] == "WorkersSucceeded"
    await eventually(lambda: _without(jobs, "done", "done-ps0"), what="ps-0 stopped")


async def test_a_failed_worker_fails_the_job_naming_it_and_stops_the_others(jobs: Jobs) -> None:
    await jobs.root("broken", **DIST)
    await jobs.with_status("broken", lambda s: s.get("phase") == phases.RUNNING, what="Running")
    await complete(jobs, "broken-worker1", "Failed")
    job = await jobs.with_status("broken", lambda s: s.get("phase") == phases.FAILED, what="Failed")
    assert job["status"]["message"].startswith("pod broken-worker1 (worker-1) failed: exited with code 1")
    await eventually(lambda: _without(jobs, "broken", "broken-ps0", "broken-worker0"), what="the others stopped")


async def test_more_pods_than_the_cluster_allows_get_none(jobs: Jobs) -> None:
    await jobs.root("huge", jobtrainingtype="PSDistJob", numps=1, numpsworker=distributed.MAX_PODS_DEFAULT)
    job = await jobs.with_status("huge", lambda s: s.get("phase") == phases.FAILED, what="refusal")
    assert job["status"]["reason"] == "TooManyPods" and "bound of 64 Pods per job" in job["status"]["message"]
    assert await live_pods(jobs, "huge") == {}


async def _without(jobs: Jobs, job: str, *names: str) -> bool:
    return not set(names) & set(await live_pods(jobs, job))
