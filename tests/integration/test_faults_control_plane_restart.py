"""kube-apiserver, and separately etcd, SIGKILLed and started again while the operator and
the shims run. While it is down the shim answers 503 JSON within its timeout; after, both
recover by themselves: their watches resume and no pod change is lost."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from kubernetes.aio import client

from tests.conftest import ClusterAccess
from tests.integration.faults import UNLIMITED, all_running, report
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster

K8S_TIMEOUT = 2.0
# A SubmitJob whose create times out reads the job back once (it may have been made), so
# it may take two API timeouts; the rest take one. Plus a second for everything else.
ANSWER_BOUND = 2 * K8S_TIMEOUT + 1.0
# Pods finished just before the crash: with several events in flight, some handler is
# likely writing a status when the API dies (kopf drops a failed event handler's work).
AROUND = 8
JOB = {"jobName": "x", "resourcegpu": 0, "dataPath": "d", "image": "busybox", "jobType": "training",
       "cmd": "sleep 3600"}


async def complete(jobs: Jobs, name: str) -> None:
    """Writes the job's pod Succeeded, as a kubelet would, and returns once the API server
    has stored it. (Not through kwok's Stage: kwok gives up on a stage whose write failed,
    so a pod it was finishing when the API went down may stay Running for good.)"""
    await jobs.core.patch_namespaced_pod_status(name, jobs.ns, {"status": {"phase": "Succeeded"}})


async def all_succeeded(jobs: Jobs, names: set[str]) -> bool:
    listed = {j["metadata"]["name"]: (j.get("status") or {}).get("phase") for j in await jobs.list_jobs()}
    return all(listed.get(name) == "Succeeded" for name in names)


async def timed_call(shim: ShimClient, op: str, token: str, **params: Any) -> tuple[int, dict[str, Any], float]:
    t0 = time.monotonic()
    status, body, _ = await shim.call(op, token, **params)
    return status, body, time.monotonic() - t0


@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
async def test_operator_and_shim_recover_from_a_restart_without_losing_a_status(
        api: client.ApiClient, cluster: ClusterAccess, namespace: str, operator: Any, shim: Any,
        extra_shim: Any, http: aiohttp.ClientSession, component: str) -> None:
    if cluster.local is None:
        pytest.skip("needs the session's own control plane (not DLWS_TEST_KUBECONFIG)")
    fast = ShimClient(http, extra_shim("--k8s-timeout", str(K8S_TIMEOUT), *UNLIMITED).url)
    session_shim = ShimClient(http, shim.url)
    jobs = Jobs(api, namespace)
    root = await make_root(api, namespace)
    made = [str((await fast.submit(root.token))["jobId"]) for _ in range(AROUND + 2)]
    before, after, around = made[0], made[1], made[2:]
    await eventually(lambda: all_running(jobs, set(made)), what="the jobs Running")

    await complete(jobs, before)
    await jobs.with_status(before, lambda s: s.get("phase") == "Succeeded", what="Succeeded")
    # Stored, but the operator is likely still handling these events when the API dies.
    await asyncio.gather(*(complete(jobs, name) for name in around))
    cluster.local.stop_component(component, kill=True)
    try:
        down: dict[str, tuple[int, dict[str, Any], float]] = {
            "SubmitJob": await timed_call(fast, "SubmitJob", root.token, **JOB),
            "JobDetail": await timed_call(fast, "JobDetail", root.token, jobId=after),
            "KillJob": await timed_call(fast, "KillJob", root.token, jobId=after),
        }
    finally:
        restart_seconds = cluster.local.start_component(component)
    await complete(jobs, after)  # the watches may not be back yet
    for op, (status, body, seconds) in down.items():
        assert status == 503 and set(body) == {"error"}, (op, status, body)
        assert seconds < ANSWER_BOUND, (op, seconds)

    await eventually(lambda: all_succeeded(jobs, {*around, after}), timeout=90,
                     what="every completed pod's job Succeeded after the restart")
    # The operator's watch is back: a new job gets its pod and IP ...
    fresh = str((await fast.submit(root.token))["jobId"])
    await jobs.running_with_ip(fresh, timeout=90)
    # ... and so is each shim's: GetJobIP's wait is woken by its index only.
    for shim_client in (fast, session_shim):
        status, body, _ = await shim_client.call("GetJobIP", root.token, jobId=fresh, wait=60)
        assert status == 200 and body.get("IP"), body
        status, body, _ = await shim_client.call("JobDetail", root.token, jobId=around[0])
        assert body.get("jobStatus") == "finished", body
    assert operator.running and shim.running  # never restarted by us
    report(f"{component} SIGKILL and restart", faults=1, restart_seconds=round(restart_seconds, 1),
           pods_finished_around_the_crash=AROUND, statuses_lost=0, **{f"{op}_while_down": f"{s} in {t:.2f}s" for op, (s, _, t) in down.items()})
