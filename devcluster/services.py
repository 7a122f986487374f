"""Cluster DNS for every real node (CoreDNS), and with IN_CLUSTER=1 Services (kube-proxy).

Both run as processes on this machine, like the rest of the control plane:
- kube-proxy (nftables mode) turns ClusterIPs into DNAT rules in its own nftables tables
  (`ip kube-proxy`, `ip6 kube-proxy`). A pod's request to a Service keeps its source
  address, as on any cluster whose nodes bridge pods with br_netfilter on: the shim tells
  which job calls by it. The reply of a pod on the same bridge is un-NATed on its way
  through the bridge (bridge-nf-call-iptables). Where that is off, kube-proxy masquerades
  all Service traffic instead, so replies come back through this machine, and the shim
  sees every job's calls as the node's;
- CoreDNS answers cluster.local names from the API server on the bridge's address: each
  real node's own, so clusters side by side each have theirs. Pods ask it there directly;
  with kube-proxy, through the usual `kube-system/kube-dns` Service at DNS_IP. It forwards
  nothing: a name outside the cluster gets no answer, and nothing a pod sends leaves the
  machine.

kube-proxy's tables are one per machine, so one in-cluster devcluster runs at a time.
"""
from __future__ import annotations

import os
import socket
import struct
import subprocess
from pathlib import Path
from typing import Any

import yaml

from devcluster.binaries import Binaries
from devcluster.components import SERVICE_CIDR
from devcluster.pki import REAL_NODE_NAME

DNS_IP = "10.0.0.10"  # kube-dns's ClusterIP, as kubeadm picks it (the 10th of the range)
CLUSTER_DOMAIN = "cluster.local"
NFT_TABLES = (("ip", "kube-proxy"), ("ip6", "kube-proxy"))


class ServicesUnavailable(RuntimeError):
    """This machine cannot run Services for pods now; the message says why."""


BRIDGE_NETFILTER = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")


def bridge_netfilter() -> bool:
    """Whether bridged IPv4 traffic passes through netfilter (br_netfilter), as kubeadm
    requires of every node. This machine's setting: read, never changed."""
    try:
        return BRIDGE_NETFILTER.read_text().strip() == "1"
    except OSError:
        return False


def kube_proxy_config(kubeconfig: Path, pod_subnet: str, node_ip: str,
                      healthz_port: int, metrics_port: int, *, masquerade_all: bool) -> dict[str, Any]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "mode": "nftables",
        "hostnameOverride": REAL_NODE_NAME,
        "clusterCIDR": pod_subnet,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        # NodePorts only on the bridge's address, never on this machine's other interfaces.
        "nodePortAddresses": [f"{node_ip}/32"],
        # Without br_netfilter, a pod calling a Service whose endpoint is on the same bridge
        # would get the reply straight from that pod, bypassing the DNAT; masquerading sends
        # it back through us, at the cost of every caller's own address.
        "nftables": {"masqueradeAll": masquerade_all},
        # Leave the machine's conntrack sysctls as they are.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def kube_proxy_argv(b: Binaries, config: Path) -> list[str]:
    return [b.path("kube-proxy"), f"--config={config}"]


def corefile(node_ip: str, kubeconfig: Path, ready_port: int, health_port: int) -> str:
    return f""".:53 {{
    bind {node_ip}
    errors
    health 127.0.0.1:{health_port}
    ready 127.0.0.1:{ready_port}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 30
}}
"""


def coredns_argv(b: Binaries, corefile_path: Path) -> list[str]:
    return [b.path("coredns"), "-conf", str(corefile_path)]


def dns_objects(node_ip: str) -> list[tuple[str, dict[str, Any]]]:
    """kube-system/kube-dns without a selector, and the EndpointSlice that points it at
    CoreDNS on this machine: (API path to create in, object)."""
    labels = {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}
    ports = [("dns", "UDP"), ("dns-tcp", "TCP")]
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
        "spec": {"clusterIP": DNS_IP,
                 "ports": [{"name": n, "port": 53, "targetPort": 53, "protocol": p} for n, p in ports]},
    }
    endpoints = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kube-dns-host", "namespace": "kube-system",
                     "labels": {"kubernetes.io/service-name": "kube-dns",
                                "endpointslice.kubernetes.io/managed-by": "devcluster"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [node_ip], "conditions": {"ready": True}, "nodeName": REAL_NODE_NAME}],
        "ports": [{"name": n, "port": 53, "protocol": p} for n, p in ports],
    }
    return [("/api/v1/namespaces/kube-system/services", service),
            ("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices", endpoints)]


def resolves(name: str, server: str = DNS_IP, timeout: float = 1.0) -> bool:
    """Whether the cluster's DNS, asked at its Service address as pods ask it, answers an
    A record for name: proof that CoreDNS serves and kube-proxy routes to it."""
    query = struct.pack(">HHHHHH", 0x646c, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(query, (server, 53))
            reply = sock.recv(4096)
        except OSError:
            return False
    _, flags, _, answers = struct.unpack(">HHHH", reply[:8])
    return bool(flags & 0x000F == 0 and answers > 0)


def write_proxy_config(node_dir: Path, kubeconfig: Path, pod_subnet: str, node_ip: str,
                       ports: dict[str, int]) -> Path:
    """kube-proxy's config under the node's directory."""
    proxy = node_dir / "kube-proxy.yaml"
    proxy.write_text(yaml.safe_dump(kube_proxy_config(
        kubeconfig, pod_subnet, node_ip, ports["kube_proxy_healthz"], ports["kube_proxy_metrics"],
        masquerade_all=not bridge_netfilter())))
    return proxy


def write_corefile(node_dir: Path, kubeconfig: Path, node_ip: str, ports: dict[str, int]) -> Path:
    """CoreDNS's Corefile under the node's directory."""
    core = node_dir / "Corefile"
    core.write_text(corefile(node_ip, kubeconfig, ports["coredns_ready"], ports["coredns_health"]))
    return core


def check_machine() -> None:
    """kube-proxy needs nftables' `nft`, and the machine's kube-proxy tables for itself."""
    if _which("nft") is None:
        raise ServicesUnavailable("in-cluster Services need nftables' `nft` command "
                                  "(devcluster/build.sh installs it as root: apt-get install nftables)")
    others = running_kube_proxies()
    if others:
        raise ServicesUnavailable(
            f"another kube-proxy runs on this machine (pid {', '.join(map(str, others))}); its nftables "
            "tables are per machine, so only one in-cluster devcluster can run at a time: stop it first")


def running_kube_proxies() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv0 = (proc / "cmdline").read_bytes().split(b"\0")[0]
        except (OSError, IndexError):
            continue
        if argv0.endswith(b"/kube-proxy"):
            pids.append(int(proc.name))
    return pids


def cleanup() -> list[str]:
    """Removes kube-proxy's nftables tables when no kube-proxy runs any more."""
    if running_kube_proxies() or _which("nft") is None:
        return []
    removed = []
    for family, table in NFT_TABLES:
        result = subprocess.run(["nft", "delete", "table", family, table], capture_output=True, check=False)
        if result.returncode == 0:
            removed.append(f"nftables table {family} {table}")
    return removed


def _which(name: str) -> str | None:
    for d in ("/usr/sbin", "/sbin", *os.environ.get("PATH", "").split(os.pathsep)):
        if d and os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return None
