"""Command lines of the control-plane components.

The flag sets follow controller-runtime's envtest and kwokctl's binary runtime, trimmed to
what this project needs, on a machine with 2 cores. Extra flags for one component can be
appended with DEVCLUSTER_<COMPONENT>_ARGS (e.g. DEVCLUSTER_KUBE_APISERVER_ARGS="-v=4");
the failed-start test uses that to break one on purpose.
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from devcluster.binaries import Binaries
from devcluster.layout import Layout
from devcluster.pki import Pki

SERVICE_CIDR = "10.0.0.0/24"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
STAGES_DIR = Path(__file__).resolve().with_name("stages")

# Controllers kube-controller-manager runs: garbage collection (ownerReferences, the
# operator's cascading kill), namespace deletion, the `default` ServiceAccount of every
# namespace (pods are refused without it), legacy SA token secrets, and the
# kube-root-ca.crt ConfigMap that every pod's projected token volume refers to, and the
# resource quota controller (a namespace's ResourceQuota refuses every Pod until it has
# written the quota's usage: tests/integration/test_resources.py).
# Not the node-lifecycle controller: kwok's nodes have no kubelet, and evicting pods from
# a node whose fake heartbeat came late would only make tests flaky.
CONTROLLERS = (
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "resourcequota-controller",
)
# On a real node: the EndpointSlices of Services, from which CoreDNS answers (the
# headless Service of a distributed job names its Pods).
REAL_NODE_CONTROLLERS = ("endpointslice-controller",)
# With the add-on running in the cluster (IN_CLUSTER=1): its Deployments.
IN_CLUSTER_CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
)

# kwok's stock Stages, relative to its stage dir, plus ours.
KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat/node-heartbeat.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-delete.yaml",
)

# Client-side rate limits of the scheduler and controller-manager: their defaults
# (20-50 QPS) would make benchmarks with thousands of pods measure the throttle.
CLIENT_QPS = "300"
CLIENT_BURST = "600"


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int


def extra_args(component: str) -> list[str]:
    return shlex.split(os.environ.get(f"DEVCLUSTER_{component.upper().replace('-', '_')}_ARGS", ""))


def etcd(b: Binaries, layout: Layout, ports: Ports) -> list[str]:
    client = f"http://127.0.0.1:{ports.etcd_client}"
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    return [
        b.path("etcd"),
        "--name=devcluster",
        f"--data-dir={layout.etcd_data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=devcluster={peer}",
        # The data is thrown away with the cluster; fsync would only cost time.
        "--unsafe-no-fsync",
        "--log-level=warn",
        *extra_args("etcd"),
    ]


def kube_apiserver(b: Binaries, layout: Layout, pki: Pki, ports: Ports, address: str = "127.0.0.1") -> list[str]:
    """address: where it listens and what it advertises. Loopback, unless pods must reach
    it through the `kubernetes` Service (IN_CLUSTER=1: the real node's bridge address)."""
    loopback = address == "127.0.0.1"
    return [
        b.path("kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
        f"--bind-address={address}",
        # Without it the API server looks for a default route's address, and there is none.
        f"--advertise-address={address}",
        # Endpoints may not hold a loopback address, so on loopback the `kubernetes`
        # Service gets none: nothing runs inside such a cluster that would dial it.
        *(["--endpoint-reconciler-type=none"] if loopback else []),
        f"--secure-port={ports.apiserver}",
        f"--cert-dir={layout.pki_dir}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--token-auth-file={pki.token_file}",
        "--authorization-mode=Node,RBAC",
        f"--service-account-issuer={SA_ISSUER}",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        # exec, logs and port-forward reach a real node's kubelet over TLS, both ways checked.
        f"--kubelet-client-certificate={pki.kubelet_client_cert}",
        f"--kubelet-client-key={pki.kubelet_client_key}",
        f"--kubelet-certificate-authority={pki.ca_cert}",
        "--kubelet-preferred-address-types=InternalIP",
        "--allow-privileged=true",
        # This admission plugin taints every new Node not-ready until the node-lifecycle
        # controller clears it; we do not run that controller (see CONTROLLERS).
        "--disable-admission-plugins=TaintNodesByCondition",
        # Off by default upstream, on in hardened clusters (e.g. OpenShift): setting
        # blockOwnerDeletion then needs `update` on the owner's finalizers, which is why
        # our RBAC grants dlwsjobs/finalizers. On here, so the tests prove that rule.
        "--enable-admission-plugins=OwnerReferencesPermissionEnforcement",
        *extra_args("kube-apiserver"),
    ]


def kube_controller_manager(b: Binaries, layout: Layout, pki: Pki, ports: Ports,
                            in_cluster: bool = False, real_node: bool = False) -> list[str]:
    controllers = (CONTROLLERS + (REAL_NODE_CONTROLLERS if real_node or in_cluster else ())
                   + (IN_CLUSTER_CONTROLLERS if in_cluster else ()))
    return [
        b.path("kube-controller-manager"),
        f"--kubeconfig={layout.kubeconfig}",
        "--leader-elect=false",
        f"--controllers={','.join(controllers)}",
        f"--service-account-private-key-file={pki.sa_key}",
        f"--root-ca-file={pki.ca_cert}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.controller_manager}",
        f"--kube-api-qps={CLIENT_QPS}",
        f"--kube-api-burst={CLIENT_BURST}",
        *extra_args("kube-controller-manager"),
    ]


def kube_scheduler(b: Binaries, layout: Layout, ports: Ports) -> list[str]:
    return [
        b.path("kube-scheduler"),
        f"--kubeconfig={layout.kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.scheduler}",
        f"--kube-api-qps={CLIENT_QPS}",
        f"--kube-api-burst={CLIENT_BURST}",
        *extra_args("kube-scheduler"),
    ]


def kwok(b: Binaries, layout: Layout, ports: Ports) -> list[str]:
    stages = [b.kwok_stages / s for s in KWOK_STAGES] + sorted(STAGES_DIR.glob("*.yaml"))
    return [
        b.path("kwok"),
        f"--kubeconfig={layout.kubeconfig}",
        "--manage-all-nodes=true",
        # Its /healthz, /metrics and (unused) kubelet API; a port of its own per cluster.
        f"--server-address=127.0.0.1:{ports.kwok}",
        # Pod IPs come from each Node's spec.podCIDR; this is only the fallback.
        "--cidr=10.250.0.0/16",
        *[f"--config={s}" for s in stages],
        *extra_args("kwok"),
    ]
