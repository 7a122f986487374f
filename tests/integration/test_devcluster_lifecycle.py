"""devcluster's own promises: starting or stopping twice is harmless, and a start that
fails part-way leaves no process behind. These start clusters of their own (one node,
no CRDs), beside the session's."""
from __future__ import annotations

from pathlib import Path

import pytest

from devcluster import ClusterStartError, LocalCluster
from devcluster.apiclient import Api
from devcluster.cluster import components_of
from devcluster.layout import Layout

pytestmark = pytest.mark.cluster
KWOK_CLUSTER = components_of("kwok")


def processes_mentioning(*needles: str) -> list[str]:
    """Command lines of live processes that mention any of `needles` (zombies excluded)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(n in cmdline for n in needles):
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


def traces(state: Path) -> list[str]:
    layout = Layout.at(state)
    return processes_mentioning(str(layout.state_dir), str(layout.etcd_data_dir))


def test_failed_start_stops_every_process_it_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # kwok is started last: etcd, the API server, controller-manager and scheduler are
    # all running when it fails.
    monkeypatch.setenv("DEVCLUSTER_KWOK_ARGS", "--no-such-flag")
    cluster = LocalCluster(tmp_path / "state", node_count=1, crds_dir=None)

    with pytest.raises(ClusterStartError) as failed:
        cluster.up()

    message = str(failed.value)
    assert "kwok exited with code" in message
    assert "unknown flag: --no-such-flag" in message  # the tail of kwok's log
    assert traces(tmp_path / "state") == []
    assert not cluster.layout.etcd_data_dir.exists()
    assert not cluster.layout.cluster_json.exists()
    assert list(cluster.layout.run_dir.iterdir()) == []
    assert (cluster.layout.logs_dir / "kwok.log").exists()  # kept to look into
    cluster.down()
    assert not (tmp_path / "state").exists()


def test_starting_twice_and_stopping_twice_are_harmless(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cluster = LocalCluster(state, node_count=1, crds_dir=None)
    try:
        first = cluster.up()
        second = LocalCluster(state, node_count=1, crds_dir=None).up()
        assert second.pids == first.pids and second.server == first.server
        assert set(first.pids) == set(KWOK_CLUSTER)
        assert len(traces(state)) == len(KWOK_CLUSTER)
    finally:
        cluster.down()
    assert traces(state) == []
    assert not state.exists()
    assert not cluster.layout.etcd_data_dir.parent.exists()
    cluster.down()  # nothing left to stop: still fine
    assert cluster.info() is None


@pytest.mark.parametrize("component", ["etcd", "kube-apiserver"])
def test_a_component_restarted_comes_back_with_its_flags_ports_and_data(
        tmp_path: Path, component: str) -> None:
    cluster = LocalCluster(tmp_path / "state", node_count=1, crds_dir=None)
    try:
        before = cluster.up()
        api = Api(before.server, before.ca_file, before.token)
        api.create("/api/v1/namespaces/default/configmaps",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"}})

        cluster.stop_component(component, kill=True)
        assert cluster.info() is None  # not whole while one part is down
        cluster.start_component(component)

        after = cluster.info()
        assert after is not None
        assert after.pids[component] != before.pids[component]
        assert {k: v for k, v in after.pids.items() if k != component} == \
            {k: v for k, v in before.pids.items() if k != component}
        assert after.ports == before.ports and after.server == before.server
        assert api.exists("/api/v1/namespaces/default/configmaps/kept")  # etcd's data kept
        assert len(traces(tmp_path / "state")) == len(KWOK_CLUSTER)  # no leftover process
    finally:
        cluster.down()
    assert traces(tmp_path / "state") == []
