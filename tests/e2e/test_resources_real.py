"""A job's memory limit on the real node: the kubelet's cgroup enforces it, and a job that
goes past it is OOM-killed and fails with reason OOMKilled in JobDetail.

What the scheduler and the API server decide (a job that cannot fit, a namespace's quota)
is proved on kwok's nodes, in tests/integration/test_resources.py: no kubelet takes part."""
from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.aio import client

from tests.conftest import ClusterAccess
from tests.e2e.containers import collector_root, detail_when, logs, submit_from

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
    assert failed["jobStatus"] == "failed" and state["reason"] == "OOMKilled", json.dumps(failed)
    assert (failed["jobParams"]["memoryrequest"], failed["jobParams"]["memorylimit"]) == ("64M", "64M")
    limit = int((await logs(real_cluster, real_namespace, small)).split()[0])
    assert limit == 64_000_000 // 4096 * 4096  # the kubelet's cgroup, page-aligned

    # The same program under a limit it fits in finishes: the limit, nothing else, killed it.
    finished = await detail_when(real_cluster, root, roomy, "finished", "failed")
    out = await logs(real_cluster, real_namespace, roomy)
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
