"""A job's memory limit on the real node: the kubelet's cgroup enforces it, and a job that
goes past it is OOM-killed and fails with reason OOMKilled in JobDetail."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes.aio import client

from tests.conftest import ClusterAccess
from tests.e2e.containers import call_from, collector_root, detail_when, logs, submit_from
from tests.integration.jobs import eventually, quota

pytestmark = [pytest.mark.cluster, pytest.mark.real_node]

# The memory cgroup's limit as the job sees it (cgroup v1 on this machine; v2 elsewhere),
# then 256 MB allocated and written (b"x" * n touches every page).
ALLOCATE = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "
            "python3 -c 'x = b\"x\" * (256 << 20); print(\"allocated\", len(x))'")


async def test_a_job_over_its_memory_limit_is_oom_killed_and_fails(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str, real_operator: Any) -> None:
    root, _ = await collector_root(real_api, real_namespace)
    small = await submit_from(real_cluster, root, cmd=ALLOCATE, memorylimit="64M")
    roomy = await submit_from(real_cluster, root, cmd=ALLOCATE, memorylimit="512M")

    failed = await detail_when(real_cluster, root, small, "finished", "failed")
    state = failed["jobStatusDetail"][0]
    print(f"\nFIGURE memorylimit=64M, 256 MB allocated: jobStatus {failed['jobStatus']}, reason {state['reason']}, "
          f"message {state['message']!r}; cgroup limit {(await logs(real_cluster, real_namespace, small)).split()[:1]}")
    assert failed["jobStatus"] == "failed" and state["reason"] == "OOMKilled", json.dumps(failed)
    assert (failed["jobParams"]["memoryrequest"], failed["jobParams"]["memorylimit"]) == ("64M", "64M")
    limit = int((await logs(real_cluster, real_namespace, small)).split()[0])
    assert limit == 64_000_000 // 4096 * 4096  # the kubelet's cgroup, page-aligned

    # The same program under a limit it fits in finishes: the limit, nothing else, killed it.
    finished = await detail_when(real_cluster, root, roomy, "finished", "failed")
    out = await logs(real_cluster, real_namespace, roomy)
    print(f"FIGURE memorylimit=512M: jobStatus {finished['jobStatus']}; log {out.split()}")
    assert finished["jobStatus"] == "finished" and f"allocated {256 << 20}" in out


async def test_a_job_naming_nothing_gets_the_clusters_defaults_on_the_real_node(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str, real_operator: Any) -> None:
    root, _ = await collector_root(real_api, real_namespace)
    job = await submit_from(real_cluster, root, cmd="cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
    done = await detail_when(real_cluster, root, job, "finished", "failed")
    params = done["jobParams"]
    # The operator's defaults for one machine (devcluster.commands.ONE_MACHINE_DEFAULTS).
    assert (params["cpurequest"], params["cpulimit"], params["memoryrequest"], params["memorylimit"]) == \
        ("10m", "2", "32M", "2560M")
    assert int((await logs(real_cluster, real_namespace, job)).split()[0]) == 2_560_000_000 // 4096 * 4096


async def detail_of(cluster: ClusterAccess, root: Any, job_id: str, what: str, pred: Any,
                    timeout: float = 120.0) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        status, body = await call_from(cluster, root, "JobDetail", jobId=job_id)
        return body if status == 200 and pred(body) else None
    return dict(await eventually(check, timeout=timeout, interval=1.0, what=f"{job_id}: {what}"))


async def test_a_job_asking_more_cpu_than_the_node_has_stays_scheduling_with_the_schedulers_reason(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str, real_operator: Any) -> None:
    root, _ = await collector_root(real_api, real_namespace)
    job = await submit_from(real_cluster, root, cmd="true", cpurequest="64")
    got = await detail_of(real_cluster, root, job, "the scheduler's reason",
                          lambda d: "Insufficient cpu" in (d["jobStatusDetail"][0]["message"] or ""))
    print(f"\nFIGURE real node, cpurequest=64: {got['jobStatus']}, {got['jobStatusDetail'][0]['reason']}: "
          f"{got['jobStatusDetail'][0]['message']}")
    assert got["jobStatus"] == "scheduling" and got["jobStatusDetail"][0]["reason"] == "Unschedulable"


async def test_a_job_over_the_namespaces_quota_runs_once_the_quota_allows(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str, real_operator: Any) -> None:
    root, _ = await collector_root(real_api, real_namespace)  # running: its 10m counts
    core = client.CoreV1Api(real_api)
    await quota(core, real_namespace, "100m")
    job = await submit_from(real_cluster, root, cmd="echo ran", cpurequest="200m")
    waiting = await detail_of(real_cluster, root, job, "ExceededQuota",
                              lambda d: d["jobStatusDetail"][0]["reason"] == "ExceededQuota")
    print(f"\nFIGURE real node quota refusal: {waiting['jobStatus']}, {waiting['jobStatusDetail'][0]['message']}")
    assert "exceeded quota: jobs" in waiting["jobStatusDetail"][0]["message"]
    raised = time.monotonic()
    await quota(core, real_namespace, "1")
    done = await detail_when(real_cluster, root, job, "finished", "failed", timeout=120)
    print(f"FIGURE real node: quota raised -> job {done['jobStatus']} in {time.monotonic() - raised:.1f} s")
    assert done["jobStatus"] == "finished" and (await logs(real_cluster, real_namespace, job)).strip() == "ran"
