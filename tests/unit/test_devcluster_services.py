"""kube-proxy's and CoreDNS's configuration (CoreDNS on every real node): pure functions."""
from __future__ import annotations

from pathlib import Path

from devcluster import components, services
from devcluster.binaries import Binaries
from devcluster.cluster import components_of
from devcluster.layout import Layout
from devcluster.pki import Pki

NODE_IP = "10.88.7.1"


def test_kube_proxy_keeps_to_its_own_tables_and_the_bridge() -> None:
    config = services.kube_proxy_config(Path("/k"), "10.88.7.0/24", NODE_IP, 1, 2, masquerade_all=False)
    assert config["mode"] == "nftables"  # its own tables, removed whole at `down`
    # pods keep their own address on the way to a Service (the shim tells callers by it)
    assert config["nftables"] == {"masqueradeAll": False} and config["clusterCIDR"] == "10.88.7.0/24"
    assert config["nodePortAddresses"] == [f"{NODE_IP}/32"]
    assert (config["healthzBindAddress"], config["metricsBindAddress"]) == ("127.0.0.1:1", "127.0.0.1:2")
    assert config["conntrack"]["maxPerCore"] == 0  # the machine's conntrack sysctls untouched


def test_coredns_answers_on_the_bridge_and_forwards_nothing() -> None:
    corefile = services.corefile(NODE_IP, Path("/k"), 3, 4)
    assert f"bind {NODE_IP}" in corefile
    assert "kubernetes cluster.local" in corefile and "kubeconfig /k" in corefile
    assert "forward" not in corefile
    assert "ready 127.0.0.1:3" in corefile and "health 127.0.0.1:4" in corefile


def test_kube_dns_points_at_coredns_on_this_machine() -> None:
    (svc_path, service), (slice_path, endpoints) = services.dns_objects(NODE_IP)
    assert service["spec"]["clusterIP"] == services.DNS_IP and "selector" not in service["spec"]
    assert endpoints["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert endpoints["endpoints"][0]["addresses"] == [NODE_IP]
    assert {p["protocol"] for p in endpoints["ports"]} == {"UDP", "TCP"}
    assert svc_path.endswith("/services") and slice_path.endswith("/endpointslices")


def test_the_api_server_listens_where_pods_reach_it_only_in_cluster() -> None:
    b, layout, pki = Binaries(Path("/b")), Layout.at("/s"), Pki(Path("/p"))
    ports = components.Ports(1, 2, 3, 4, 5, 6)
    loopback = components.kube_apiserver(b, layout, pki, ports)
    assert "--bind-address=127.0.0.1" in loopback and "--endpoint-reconciler-type=none" in loopback
    bridged = components.kube_apiserver(b, layout, pki, ports, NODE_IP)
    assert f"--bind-address={NODE_IP}" in bridged and f"--advertise-address={NODE_IP}" in bridged
    assert not any(a.startswith("--endpoint-reconciler-type") for a in bridged)
    kcm = components.kube_controller_manager(b, layout, pki, ports, in_cluster=True)
    controllers = next(a for a in kcm if a.startswith("--controllers=")).split("=", 1)[1].split(",")
    assert {"deployment-controller", "replicaset-controller", "endpointslice-controller"} <= set(controllers)


def test_every_real_node_has_cluster_dns_and_only_in_cluster_kube_proxy() -> None:
    assert "coredns" in components_of("real") and "kube-proxy" not in components_of("real")
    assert {"coredns", "kube-proxy"} <= set(components_of("real", in_cluster=True))
    assert "coredns" not in components_of("kwok")
    b, layout, pki = Binaries(Path("/b")), Layout.at("/s"), Pki(Path("/p"))
    kcm = components.kube_controller_manager(b, layout, pki, components.Ports(1, 2, 3, 4, 5, 6), real_node=True)
    controllers = next(a for a in kcm if a.startswith("--controllers=")).split("=", 1)[1].split(",")
    # CoreDNS answers a headless Service's names from its EndpointSlices
    assert "endpointslice-controller" in controllers and "deployment-controller" not in controllers
