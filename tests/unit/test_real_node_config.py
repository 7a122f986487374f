"""The real node's configuration files: pure functions of the cluster's state dir."""
from __future__ import annotations

import tomllib
from pathlib import Path

from devcluster import real_node
from devcluster.binaries import Binaries
from devcluster.layout import Layout
from devcluster.pki import Pki

LAYOUT = Layout.at("/tmp/some-state")
PLAN = real_node.NodePlan.of(LAYOUT)
B = Binaries(Path("/cache/bin"))


def test_a_plan_is_found_again_from_the_state_dir_alone() -> None:
    again = real_node.NodePlan.of(Layout.at("/tmp/some-state"))
    assert again == PLAN
    other = real_node.NodePlan.of(Layout.at("/tmp/other-state"))
    assert (other.bridge, other.cgroup_root) != (PLAN.bridge, PLAN.cgroup_root)
    assert len(PLAN.bridge) <= 15  # IFNAMSIZ - 1
    assert PLAN.subnet.subnet_of(real_node.POD_RANGE) and PLAN.subnet.prefixlen == 24
    assert PLAN.node_ip == str(PLAN.subnet.network_address + 1)


def test_containerd_keeps_everything_under_the_node_dir() -> None:
    config = tomllib.loads(real_node.containerd_config(PLAN, B, "dlws.local/pause:1"))
    assert config["version"] == 3
    assert config["root"].startswith(str(PLAN.dir)) and config["state"].startswith(str(PLAN.dir))
    assert config["grpc"]["address"] == str(PLAN.containerd_socket)
    runtime = config["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["restrict_oom_score_adj"] is True
    assert runtime["netns_mounts_under_state_dir"] is True
    assert runtime["cni"]["conf_dir"] == str(PLAN.cni_conf_dir)
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["BinaryName"] == "/cache/bin/runc"
    images = config["plugins"]["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == "dlws.local/pause:1"
    assert "io.containerd.nri.v1.nri" in config["disabled_plugins"]


def test_pods_get_no_route_off_the_bridge() -> None:
    (bridge,) = real_node.cni_config(PLAN)["plugins"]
    assert bridge["bridge"] == PLAN.bridge
    assert bridge["isGateway"] is False and bridge["ipMasq"] is False
    assert bridge["ipam"]["routes"] == []
    assert bridge["ipam"]["dataDir"].startswith(str(PLAN.dir))


def test_with_services_pods_route_only_cluster_ips_through_the_node() -> None:
    (bridge,) = real_node.cni_config(PLAN, "10.0.0.0/24")["plugins"]
    assert bridge["ipam"]["routes"] == [{"dst": "10.0.0.0/24", "gw": PLAN.node_ip}]
    assert bridge["isGateway"] is False and bridge["ipMasq"] is False


def test_pods_get_the_cluster_dns_only_when_it_runs() -> None:
    pki = Pki(Path("/pki"))
    assert "clusterDNS" not in real_node.kubelet_config(PLAN, pki, 10250, 10248)
    config = real_node.kubelet_config(PLAN, pki, 10250, 10248, "10.0.0.10")
    assert (config["clusterDNS"], config["clusterDomain"], config["resolvConf"]) == (["10.0.0.10"], "cluster.local", "")


def test_the_kubelet_accepts_only_authenticated_callers_and_tolerates_cgroup_v1() -> None:
    pki = Pki(Path("/pki"))
    config = real_node.kubelet_config(PLAN, pki, 10250, 10248)
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authorization"] == {"mode": "Webhook"}
    assert config["readOnlyPort"] == 0
    assert config["address"] == PLAN.node_ip
    assert (config["failCgroupV1"], config["cgroupDriver"]) == (False, "cgroupfs")
    assert config["cgroupRoot"] == PLAN.cgroup_root
    assert config["evictionHard"] == {}
    assert config["containerRuntimeEndpoint"] == f"unix://{PLAN.containerd_socket}"


def test_mountinfo_paths_are_unescaped() -> None:
    assert real_node._unescape("/a\\040b\\134c") == "/a b\\c"


def test_subnets_wrap_within_the_pod_range() -> None:
    assert str(real_node._subnet_at(0)) == "10.88.0.0/24"
    assert real_node._subnet_at(256) == real_node._subnet_at(0)


def test_the_bridge_has_a_fixed_local_mac() -> None:
    mac = PLAN.bridge_mac
    assert len(mac.split(":")) == 6 and mac.startswith("02:")
    assert int(mac.split(":")[0], 16) & 0b10  # locally administered
