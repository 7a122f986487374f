"""The real node's benchmark (bench/real_jobs.py, real_storage.py) on tiny sizes, so that its code cannot
rot. It asserts that every figure was measured, never how fast: timings are not tests."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench.cli import REAL_NODE_MEASUREMENTS, run_bench
from bench.sizes import TINY
from tests.conftest import ClusterAccess

pytestmark = [pytest.mark.cluster, pytest.mark.real_node, pytest.mark.bench]


@pytest.mark.timeout(900)
async def test_real_node_bench_runs_on_tiny_sizes(real_cluster: ClusterAccess, real_identities: Any,
                                                  real_operator: Any, tmp_path: Path) -> None:
    # The benchmark starts an operator of its own; the session's would handle the same jobs.
    real_operator.stop()
    try:
        doc = await run_bench(real_cluster.kubeconfig, TINY, tmp_path, command="test_bench_real",
                              operator_kubeconfig=real_identities.operator_kubeconfig,
                              shim_kubeconfig=real_identities.shim_kubeconfig,
                              host=real_cluster.host_address, kubectl=real_cluster.bin_dir / "kubectl",
                              measurements=REAL_NODE_MEASUREMENTS)
    finally:
        real_operator.start()
    assert doc["errors"] == {}
    figures = {f["key"]: f for f in doc["figures"]}
    floor_key = "real_node.kubelet_floor.started_after_delete"
    assert set(figures) == {"real_node.submit_to_answer.p50", "real_node.kill.seconds",
                            "real_node.kill.without_init_seconds", floor_key, "real_node.storage_start.p50",
                            "real_node.distributed.up_seconds", "real_node.distributed.kill_seconds",
                            "real_node.distributed.up_to_same_pods_seconds",
                            "real_node.distributed.kill_to_same_pods_seconds"}
    for key, f in figures.items():
        assert math.isfinite(f["value"]) and (key == floor_key or math.isfinite(f["baseline"])), key
    kill = doc["measurements"]["real_jobs"]["kill"]
    assert kill["jobs"] == 1 + TINY.real_kill_children + TINY.real_kill_grandchildren
    floor = doc["measurements"]["real_jobs"]["kubelet_floor"]
    assert floor["started_after_delete"] <= floor["containers_started"] <= floor["pods"]
