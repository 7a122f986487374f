"""The add-on disrupted the way clusters disrupt it, under load from inside a job: the
operator's Pod deleted, or its process killed, in the middle of a burst of submissions;
the shim's Deployment restarted replica by replica under a steady stream of them."""
from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import pytest
from kubernetes.aio import client

from devcluster import addon as installed_addon
from devcluster.binaries import JOB_IMAGE
from dlws_contract import resource
from tests.e2e.addon.conftest import Addon, shell_root
from tests.e2e.containers import container_pid, program, run_python
from tests.integration.jobs import Jobs, eventually

pytestmark = [pytest.mark.cluster, pytest.mark.real_node]
NS = installed_addon.NAMESPACE
BURST = 100
FAMILIES = 2
# Jobs the shim stream makes before the restart, and after it, before it is stopped.
STREAM_STEP = 6


async def deployment_pods(api: client.ApiClient, name: str) -> list[Any]:
    pods = await client.CoreV1Api(api).list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/name={name}")
    return [p for p in pods.items if p.metadata.deletion_timestamp is None]


async def children(jobs: Jobs, root: str) -> set[str]:
    return {j["metadata"]["name"] for j in await jobs.list_jobs(f"{resource.LABEL_PARENT}={root}")}


def replies(out: str) -> list[list[Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("[")]


@pytest.mark.parametrize("how", ["pod deleted", "process killed"])
async def test_operator_lost_mid_burst_every_job_runs_once(
        addon: Addon, addon_api: client.ApiClient, addon_namespace: str, how: str) -> None:
    # Two families of 50: a family may hold 100 unfinished jobs, its root included.
    cluster, ns = addon.cluster, addon_namespace
    roots = [await shell_root(addon_api, ns) for _ in range(FAMILIES)]
    jobs = Jobs(addon_api, ns)
    (operator,) = await deployment_pods(addon_api, installed_addon.OPERATOR)
    restarts = operator.status.container_statuses[0].restart_count
    per_family = BURST // FAMILIES
    # Found before the burst: containerd's CLI is slow enough under load for the burst to end first.
    pid = await container_pid(cluster, operator.metadata.name, "operator") if how == "process killed" else 0
    bursts = [asyncio.create_task(run_python(cluster, ns, root.name, program("burst"), str(per_family),
                                             JOB_IMAGE.ref, "sleep 3600", f"burst{n}", timeout=600))
              for n, root in enumerate(roots)]

    async def made() -> set[str]:
        return set().union(*[await children(jobs, root.name) for root in roots])

    async def under_way() -> bool:
        return len(await made()) >= BURST // 5
    await eventually(under_way, timeout=120, interval=0.2, what="the burst under way")
    if how == "pod deleted":
        cluster.kubectl("delete", "pod", "-n", NS, operator.metadata.name, "--wait=false")
    else:
        os.kill(pid, signal.SIGKILL)
    at_loss = len(await made())
    results = [line for out in await asyncio.gather(*bursts) for line in replies(out)]

    async def operator_back() -> bool:
        pods = await deployment_pods(addon_api, installed_addon.OPERATOR)
        if how == "pod deleted":
            pods = [p for p in pods if p.metadata.uid != operator.metadata.uid]
        else:
            pods = [p for p in pods if p.status.container_statuses[0].restart_count > restarts]
        return any(c.type == "Ready" and c.status == "True" for p in pods for c in p.status.conditions or [])
    await eventually(operator_back, timeout=180, interval=1.0, what=f"the operator back after its {how}")

    answered = [body["jobId"] for _, status, body, _ in results if status == 200 and "jobId" in body]
    failed = [r for r in results if r[1] != 200 or "jobId" not in r[2]]
    assert failed == [] and len(answered) == BURST, failed[:5]
    assert len(set(answered)) == BURST

    async def all_running() -> bool:
        listed = [j for root in roots for j in await jobs.list_jobs(f"{resource.LABEL_PARENT}={root.name}")]
        return sum((j.get("status") or {}).get("phase") == "Running" for j in listed) == BURST
    await eventually(all_running, timeout=600, interval=2.0, what=f"all {BURST} jobs Running")
    found = await made()
    per_job: dict[str, int] = {}
    for root in roots:
        # A job's Pod is labelled with its job and its family's root, not with its parent.
        for pod in await jobs.pods(f"{resource.LABEL_ROOT}={root.name}"):
            job = pod.metadata.labels[resource.LABEL_JOB]
            if job != root.name:
                per_job[job] = per_job.get(job, 0) + 1
    twice = {j: n for j, n in per_job.items() if n > 1}
    assert at_loss < BURST, "the operator was lost after the burst, not in it"
    assert found == set(answered)
    assert twice == {} and set(per_job) == found


async def test_shim_rolling_restart_under_a_stream_fails_no_call_and_loses_no_job(
        addon: Addon, addon_api: client.ApiClient, addon_namespace: str) -> None:
    cluster, ns = addon.cluster, addon_namespace
    root = await shell_root(addon_api, ns)
    jobs = Jobs(addon_api, ns)
    old = {p.metadata.name for p in await deployment_pods(addon_api, installed_addon.SHIM)}
    stop = "/tmp/stop-stream"
    stream = asyncio.create_task(run_python(cluster, ns, root.name, program("stream"), stop, JOB_IMAGE.ref,
                                            timeout=600))

    async def made_more_than(count: int) -> bool:
        return len(await children(jobs, root.name)) >= count + STREAM_STEP
    await eventually(lambda: made_more_than(0), timeout=120, interval=0.5, what="the stream under way")
    before = await children(jobs, root.name)
    await asyncio.to_thread(cluster.kubectl, "rollout", "restart", f"deployment/{installed_addon.SHIM}", "-n", NS)
    await asyncio.to_thread(cluster.kubectl, "rollout", "status", f"deployment/{installed_addon.SHIM}", "-n", NS,
                            "--timeout=300s", timeout=330)
    await eventually(lambda: _all_gone(addon_api, old), timeout=120, interval=0.5, what="the old shim pods gone")
    restarted = await children(jobs, root.name)
    await eventually(lambda: made_more_than(len(restarted)), timeout=120, interval=0.5,
                     what="the stream going on after the restart")
    await asyncio.to_thread(cluster.kubectl, "exec", "-n", ns, root.name, "--", "touch", stop)
    results = replies(await stream)

    failed = [r for r in results if r[2] != 200 or "jobId" not in r[3]]
    answered = [r[3]["jobId"] for r in results if r[2] == 200 and "jobId" in r[3]]
    made = await children(jobs, root.name)
    lost = made - set(answered)
    assert len(restarted - before) >= 10, "the stream did not run through the restart"
    assert failed == [], failed[:5]
    assert lost == set() and len(set(answered)) == len(answered) == len(made)


async def _all_gone(api: client.ApiClient, names: set[str]) -> bool:
    pods = await client.CoreV1Api(api).list_namespaced_pod(NS)
    return not names & {p.metadata.name for p in pods.items}
