"""A real node leaves nothing behind: after `down`, even when its kubelet and containerd
were killed first (a crash), no container, shim, mount, cgroup or bridge of it is left."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from devcluster import LocalCluster
from devcluster.apiclient import Api
from devcluster.binaries import JOB_IMAGE
from devcluster.processes import read_records
from devcluster.real_node import CGROUP_V1, NodePlan, mounts_under
from devcluster.waiting import wait_until
from tests.integration.test_devcluster_lifecycle import traces

pytestmark = [pytest.mark.cluster, pytest.mark.real_node]


def leftovers(cluster: LocalCluster) -> list[str]:
    plan = NodePlan.of(cluster.layout)
    found = traces(cluster.layout.state_dir)
    found += [f"mount {m}" for m in mounts_under(cluster.layout.state_dir)]
    found += [f"cgroup {h}" for h in CGROUP_V1.glob(f"*{plan.cgroup_root}")]
    found += [f"bridge {plan.bridge}"] if Path("/sys/class/net", plan.bridge).exists() else []
    return found


def test_down_after_a_crash_leaves_nothing(real_cluster: object, tmp_path: Path) -> None:
    del real_cluster  # only for its check that this machine can run a real node
    cluster = LocalCluster(tmp_path / "state", node_kind="real", crds_dir=None)
    try:
        info = cluster.up()
        api = Api(info.server, info.ca_file, info.token)
        api.create("/api/v1/namespaces/default/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper"},
            "spec": {"automountServiceAccountToken": False, "containers": [
                {"name": "c", "image": JOB_IMAGE.ref, "command": ["sleep", "3600"]}]}})
        wait_until("the pod running", lambda: api.get("/api/v1/namespaces/default/pods/sleeper")
                   ["status"].get("phase") == "Running", timeout=60)
        for record in read_records(cluster.layout.run_dir):
            if record.name in ("kubelet", "containerd"):
                os.kill(record.pid, signal.SIGKILL)
        running = subprocess.run(["pgrep", "-f", "sleep 3600"], capture_output=True, text=True).stdout
        assert running, "the container outlives its kubelet and containerd"
    finally:
        cluster.down()
    assert leftovers(cluster) == []
    assert not (tmp_path / "state").exists()
