"""The benchmark's code (bench/) on tiny sizes against the test session's control plane,
so that it cannot rot. It asserts the shape of the results and that every figure was
measured, never that a goal was met: timings are not tests."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from kubernetes.aio import client

from bench.cli import MEASUREMENTS, run_bench
from bench.context import BENCH_LABEL
from bench.sizes import TINY

pytestmark = [pytest.mark.cluster, pytest.mark.bench]

FIGURES = {
    "submit_latency.p50", "submit_latency.p90", "submit_latency.p99", "submit_latency.caller_lookup.p50",
    "throughput.rate", "throughput.errors", "throughput.missing",
    *(f"submit_to_ip.{at}.{figure}" for at in ("1", "n")
      for figure in ("p50_to_floor", "p50_to_job_controller", "p50", "p90")),
    *(f"submit_to_ip.{path}.{at}.p50" for at in ("1", "n")
      for path in ("job", "floor", "floor_watch", "floor_pod_read", "floor_status")),
    "submit_to_ip.floor_kopf.1.p50",
    "kill_cascade.to_gc_floor", "kill_cascade.seconds", "kill_cascade.operator_stopped_seconds",
    "kill_cascade.killing_floor_seconds", "kill_cascade.to_killing_floor",
    "scale.operator_hwm_mb", "scale.operator_rss_mb", "scale.operator_restart_hwm_mb",
    "scale.shim_hwm_mb", "scale.shim_rss_mb", "scale.operator_startup_s", "scale.operator_startup_ip_s",
    "scale.jobdetail_p50", "scale.submit_p50",
    "distributed.submit_to_all_ips.p50",
    "detail_log.p50", "detail_log.p99", "ttl_sweep.peak_objects", "ttl_sweep.level",
}


@pytest.mark.timeout(900)
async def test_bench_runs_every_measurement_on_tiny_sizes(
        cluster: Any, identities: Any, operator: Any, api: client.ApiClient, tmp_path: Path) -> None:
    # The benchmark starts (and restarts) an operator of its own; the session's would
    # handle the same jobs twice. It is back before the next test.
    operator.stop()
    try:
        doc = await run_bench(cluster.kubeconfig, TINY, tmp_path,
                              operator_kubeconfig=identities.operator_kubeconfig,
                              shim_kubeconfig=identities.shim_kubeconfig, command="test_bench")
    finally:
        operator.start()

    assert doc["errors"] == {}
    assert set(doc["measurements"]) == set(MEASUREMENTS)
    for name, details in doc["measurements"].items():
        assert details["api_requests"]["(total)"] > 0, name

    figures = {f["key"]: f for f in doc["figures"]}
    assert set(figures) == FIGURES
    for key, f in figures.items():
        assert isinstance(f["value"], (int, float)) and math.isfinite(f["value"]), key
        if f["baseline"] is not None:
            assert math.isfinite(f["baseline"]), key
        if f["goal_kind"].startswith("ratio"):
            assert f["ratio"] is not None and math.isfinite(f["ratio"]), key
        if f["goal_kind"] != "info":
            assert f["passed"] in (True, False) and f["goal_text"], key

    meta = doc["meta"]
    assert meta["sizes"]["name"] == "tiny"
    assert meta["commit"]["commit"] and meta["machine"]["nproc"]
    assert meta["control_plane"]["kube-controller-manager"]["--kube-api-qps"]

    written = json.loads((tmp_path / "results.json").read_text())
    assert [f["key"] for f in written["figures"]] == [f["key"] for f in doc["figures"]]
    table = (tmp_path / "results.md").read_text()
    assert "| figure | value | baseline | ratio | goal | pass |" in table
    for f in doc["figures"]:
        assert f["title"] in table

    # It cleaned up after itself: its namespaces are gone.
    left = await client.CoreV1Api(api).list_namespace(label_selector=f"{BENCH_LABEL}={meta['run_id']}")
    assert left.items == []
