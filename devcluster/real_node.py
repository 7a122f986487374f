"""A real node: a kubelet running Pods through containerd, runc and the CNI bridge plugin.

Everything one cluster's node makes is found again from its state directory alone, so
`cleanup` also works after a crash: files under <state>/node, cgroups under
/<cgroup v1 controller>/dlws-<digest>, a bridge named dlws<digest>, and the processes in
those cgroups or serving that node's containerd socket. Pods get addresses on the bridge,
which has no route out: pod traffic stays between this machine and its pods.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devcluster.binaries import Binaries
from devcluster.layout import Layout
from devcluster.pki import REAL_NODE_NAME, Pki, sign_kubelet_serving

CGROUP_V1 = Path("/sys/fs/cgroup")
# Pod subnets are /24s of this range, one per cluster, away from the kwok nodes' 10.244/16.
POD_RANGE = ipaddress.IPv4Network("10.88.0.0/16")
NAMESPACE_K8S = "k8s.io"  # containerd's namespace for the CRI's images and containers
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes


class RealNodeUnavailable(RuntimeError):
    """This machine cannot run a real node; the message names what is missing."""


@dataclass(frozen=True)
class NodePlan:
    """Where one cluster's real node keeps what it makes."""

    dir: Path
    digest: str
    subnet: ipaddress.IPv4Network

    @classmethod
    def of(cls, layout: Layout, subnet: ipaddress.IPv4Network | None = None) -> NodePlan:
        digest = hashlib.sha256(str(layout.state_dir).encode()).hexdigest()[:10]
        return cls(layout.state_dir / "node", digest, subnet or _subnet_at(int(digest, 16)))

    @property
    def bridge(self) -> str:
        return f"dlws{self.digest}"  # 14 characters: an interface name takes at most 15

    @property
    def bridge_mac(self) -> str:
        """Locally administered and fixed: a bridge left to itself takes the lowest MAC of
        its ports, which changes as pods come and go, and pods' cached ARP entry for the
        host then points nowhere until it expires."""
        return "02:" + ":".join(self.digest[i:i + 2] for i in range(0, 10, 2))

    @property
    def node_ip(self) -> str:
        """The bridge's own address: the node's InternalIP, and where pods reach the host."""
        return str(self.subnet.network_address + 1)

    @property
    def cgroup_root(self) -> str:
        return f"/dlws-{self.digest}"

    @property
    def containerd_socket(self) -> Path:
        return self.dir / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.dir / "cni" / "net.d"

    @property
    def kubelet_dir(self) -> Path:
        return self.dir / "kubelet"


def _subnet_at(index: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network((int(POD_RANGE.network_address) + (index % 256) * 256, 24))


# -- what the machine must offer ------------------------------------------------------------


def missing_capabilities() -> list[str]:
    """What this machine lacks for a real node (empty: nothing)."""
    missing = []
    if os.geteuid() != 0:
        missing.append(f"root (running as uid {os.geteuid()})")
    if not Path("/proc/self/ns/net").exists():
        missing.append("network namespaces")
    if not (CGROUP_V1 / "memory").is_dir() and not (CGROUP_V1 / "cgroup.controllers").exists():
        missing.append("a cgroup filesystem at /sys/fs/cgroup")
    if shutil.which("ip") is None:
        missing.append("iproute2's `ip` command")
    return missing


def check_machine(plan: NodePlan) -> None:
    missing = missing_capabilities()
    if len(str(plan.containerd_socket)) > SOCKET_PATH_MAX:
        missing.append(f"a state directory path short enough for a unix socket ({plan.containerd_socket})")
    if missing:
        raise RealNodeUnavailable(
            f"a real node needs {', '.join(missing)}; use NODE=kwok for fake nodes instead")


def plan_on_free_subnet(layout: Layout) -> NodePlan:
    """The plan with the first /24 from the state dir's own that no interface or route of
    this machine uses."""
    used = _used_networks()
    plan = NodePlan.of(layout)
    start = int(plan.digest, 16)
    for step in range(256):
        subnet = _subnet_at(start + step)
        if not any(subnet.overlaps(u) for u in used):
            return NodePlan.of(layout, subnet)
    raise RealNodeUnavailable(f"no free /24 for pods in {POD_RANGE}")


def _used_networks() -> list[ipaddress.IPv4Network]:
    nets: list[ipaddress.IPv4Network] = []
    for args in (["-4", "-j", "addr"], ["-4", "-j", "route"]):
        out = subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout
        for item in json.loads(out or "[]"):
            for addr in item.get("addr_info", []):
                nets.append(ipaddress.IPv4Network(f"{addr['local']}/{addr['prefixlen']}", strict=False))
            dst = item.get("dst")
            if dst and dst != "default":
                nets.append(ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False))
    return nets


# -- configuration: pure functions of the plan ----------------------------------------------


def containerd_config(plan: NodePlan, b: Binaries, sandbox_image: str) -> str:
    d = plan.dir / "containerd"
    cri_runtime = "plugins.'io.containerd.cri.v1.runtime'"
    return f"""version = 3
root = "{d / 'root'}"
state = "{d / 'state'}"
# NRI listens on one machine-wide socket; nothing here uses it.
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "{plan.containerd_socket}"

[ttrpc]
  address = "{plan.containerd_socket}.ttrpc"

[plugins.'io.containerd.internal.v1.opt']
  path = "{d / 'opt'}"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = "{sandbox_image}"

[{cri_runtime}]
  # The sandbox this runs in lacks CAP_SYS_RESOURCE: runc may not lower oom_score_adj.
  restrict_oom_score_adj = true
  # Pods' network namespaces under our state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true

[{cri_runtime}.cni]
  bin_dirs = ["{b.bin_dir / 'cni'}"]
  conf_dir = "{plan.cni_conf_dir}"
  max_conf_num = 1

[{cri_runtime}.containerd]
  default_runtime_name = "runc"

[{cri_runtime}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri_runtime}.containerd.runtimes.runc.options]
  BinaryName = "{b.path('runc')}"
  SystemdCgroup = false
"""


def cni_config(plan: NodePlan, service_cidr: str | None = None) -> dict[str, Any]:
    """The bridge plugin on our own bridge, addresses from host-local. Not a gateway and no
    default route: a pod reaches the bridge's subnet (other pods, the host at node_ip) and,
    with Services (service_cidr), their ClusterIPs through this machine; nothing else."""
    routes = [{"dst": service_cidr, "gw": plan.node_ip}] if service_cidr else []
    return {
        "cniVersion": "1.0.0",
        "name": "dlws",
        "plugins": [{
            "type": "bridge",
            "bridge": plan.bridge,
            "isGateway": False,
            "ipMasq": False,
            "hairpinMode": True,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": str(plan.subnet), "rangeStart": str(plan.subnet.network_address + 2)}]],
                "routes": routes,
                "dataDir": str(plan.dir / "cni" / "ipam"),
            },
        }],
    }


def kubelet_config(plan: NodePlan, pki: Pki, port: int, healthz_port: int,
                   cluster_dns: str | None = None) -> dict[str, Any]:
    """cluster_dns: where pods ask for names (CoreDNS on the bridge, or the kube-dns Service)."""
    dns: dict[str, Any] = {"clusterDNS": [cluster_dns], "clusterDomain": "cluster.local"} if cluster_dns else {}
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": plan.node_ip,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": str(pki.kubelet_serving_cert),
        "tlsPrivateKeyFile": str(pki.kubelet_serving_key),
        # Only the API server (client certificate) and tokens the API server vouches for.
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{plan.containerd_socket}",
        # These machines mount cgroup v1, which kubelet 1.35+ refuses unless told.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": plan.cgroup_root,
        "failSwapOn": False,
        # A small disk must not evict pods or images mid-test.
        "evictionHard": {},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "podLogsDir": str(plan.dir / "pod-logs"),
        # Above the usual 110: the add-on's tests run bursts of 100 jobs beside the add-on.
        "maxPods": 250,
        # Never this machine's resolvers: nothing pods send leaves it. Only the cluster's
        # own DNS, when it has one.
        "resolvConf": "",
        **dns,
        "registerNode": True,
        # No KUBE-FIREWALL and canary chains in this machine's iptables: kube-proxy, when it
        # runs, keeps to its own nftables tables.
        "makeIPTablesUtilChains": False,
    }


def kubelet_kubeconfig(server: str, pki: Pki) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority": str(pki.ca_cert)}}],
        "users": [{"name": REAL_NODE_NAME, "user": {"token": pki.node_token}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": REAL_NODE_NAME}}],
        "current-context": "local",
    }


def containerd_argv(plan: NodePlan, b: Binaries) -> list[str]:
    return [b.path("containerd"), "--config", str(plan.dir / "containerd.toml")]


def kubelet_argv(plan: NodePlan, b: Binaries) -> list[str]:
    return [
        b.path("kubelet"),
        f"--config={plan.dir / 'kubelet.yaml'}",
        f"--kubeconfig={plan.dir / 'kubelet.kubeconfig'}",
        f"--root-dir={plan.kubelet_dir}",
        f"--cert-dir={plan.kubelet_dir / 'pki'}",
        f"--hostname-override={REAL_NODE_NAME}",
        f"--node-ip={plan.node_ip}",
    ]


def runtime_env(b: Binaries) -> dict[str, str]:
    """containerd finds its shim, and the kubelet its mount helpers, on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["PATH"] = f"{b.bin_dir}:{env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
    return env


# -- making and removing it -----------------------------------------------------------------


def make_bridge(plan: NodePlan, forwarding: bool = False) -> None:
    """The pods' bridge with the node's address. forwarding: this machine routes what
    pods send to a ClusterIP back onto the bridge (the per-interface switch: the machine's
    own net.ipv4.ip_forward stays as it is)."""
    plan.dir.mkdir(parents=True, exist_ok=True)
    _ip("link", "add", plan.bridge, "address", plan.bridge_mac, "type", "bridge")
    _ip("addr", "add", f"{plan.node_ip}/{plan.subnet.prefixlen}", "dev", plan.bridge)
    _ip("link", "set", plan.bridge, "up")
    if forwarding:
        Path(f"/proc/sys/net/ipv4/conf/{plan.bridge}/forwarding").write_text("1\n")


def prepare(plan: NodePlan, b: Binaries, pki: Pki, server: str, sandbox_image: str,
            ports: tuple[int, int], service_cidr: str | None = None, cluster_dns: str | None = None) -> None:
    """The cgroup root and every config file, before containerd starts (the bridge is
    made first, by make_bridge)."""
    for d in (plan.dir, plan.cni_conf_dir, plan.kubelet_dir):
        d.mkdir(parents=True, exist_ok=True)
    for path in _cgroup_dirs(plan):
        path.mkdir(exist_ok=True)
        if path.parent.name == "cpuset":
            # A new cpuset cgroup starts empty; tasks need its parent's CPUs and memory nodes.
            for knob in ("cpuset.cpus", "cpuset.mems"):
                (path / knob).write_text((path.parent / knob).read_text())
    (plan.dir / "containerd.toml").write_text(containerd_config(plan, b, sandbox_image))
    (plan.cni_conf_dir / "10-dlws.conflist").write_text(json.dumps(cni_config(plan, service_cidr), indent=2))
    sign_kubelet_serving(pki, plan.node_ip)
    (plan.dir / "kubelet.yaml").write_text(yaml.safe_dump(kubelet_config(plan, pki, *ports, cluster_dns)))
    kubeconfig = plan.dir / "kubelet.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(kubelet_kubeconfig(server, pki)))
    kubeconfig.chmod(0o600)


def import_images(plan: NodePlan, b: Binaries, tarballs: list[Path]) -> None:
    for tarball in tarballs:
        result = subprocess.run(
            [b.path("ctr"), "--address", str(plan.containerd_socket), "-n", NAMESPACE_K8S,
             "images", "import", str(tarball)],
            capture_output=True, text=True, check=False, env=runtime_env(b))
        if result.returncode != 0:
            raise RuntimeError(f"ctr images import {tarball} failed: {result.stderr.strip()}")


def containerd_ready(plan: NodePlan, b: Binaries) -> bool:
    if not plan.containerd_socket.exists():
        return False
    result = subprocess.run([b.path("ctr"), "--address", str(plan.containerd_socket), "version"],
                            capture_output=True, check=False)
    return result.returncode == 0


def cleanup(layout: Layout) -> list[str]:
    """Removes whatever a real node of this state dir left: its containers and shims, its
    mounts, cgroups and bridge. Call it after the kubelet and containerd have stopped.
    Returns what it removed, for the caller to tell."""
    plan = NodePlan.of(layout)
    removed = []
    killed = _kill_leftovers(plan)
    if killed:
        removed.append(f"{killed} leftover container or shim processes")
    unmounted = _unmount_under(plan.dir)
    if unmounted:
        removed.append(f"{unmounted} mounts")
    if _remove_cgroups(plan):
        removed.append(f"cgroups {plan.cgroup_root}")
    if _link_exists(plan.bridge):
        _ip("link", "del", plan.bridge)
        removed.append(f"bridge {plan.bridge}")
    _remove_container_log_links(plan.dir)
    return removed


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below path, deepest first."""
    prefix = str(path)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = _unescape(line.split()[4])
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _unmount_under(path: Path) -> int:
    points = mounts_under(path)
    for point in points:
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
    return len(points)


def _cgroup_dirs(plan: NodePlan) -> list[Path]:
    """The node's cgroup root in every mounted cgroup v1 hierarchy (and the cgroup v2 one
    that a hybrid machine mounts beside them, where runc places containers too)."""
    if not CGROUP_V1.is_dir():
        return []
    return [h / plan.cgroup_root.lstrip("/") for h in sorted(CGROUP_V1.iterdir())
            if h.is_dir() and not h.is_symlink() and (h / "cgroup.procs").exists()]


def _cgroup_pids(plan: NodePlan) -> set[int]:
    pids: set[int] = set()
    for root in _cgroup_dirs(plan):
        if root.is_dir():
            for procs in root.rglob("cgroup.procs"):
                try:
                    pids.update(int(p) for p in procs.read_text().split())
                except OSError:
                    pass
    return pids


def _shim_pids(plan: NodePlan) -> set[int]:
    """containerd shims serving this node's containerd (they outlive it by design)."""
    socket = str(plan.containerd_socket)
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and socket.encode() in argv:
            pids.add(int(proc.name))
    return pids


def _kill_leftovers(plan: NodePlan) -> int:
    killed: set[int] = set()
    for _ in range(50):
        pids = (_cgroup_pids(plan) | _shim_pids(plan)) - {os.getpid()}
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed |= pids
        time.sleep(0.1)
    return len(killed)


def _remove_cgroups(plan: NodePlan) -> bool:
    removed = False
    for root in _cgroup_dirs(plan):
        if not root.is_dir():
            continue
        dirs = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
        for d in [*dirs, root]:
            for _ in range(50):  # a killed task leaves its cgroup a moment after it dies
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        removed = True
    return removed


def _remove_container_log_links(node_dir: Path) -> None:
    """The kubelet links each container's log into /var/log/containers; drop ours."""
    links = Path("/var/log/containers")
    if not links.is_dir():
        return
    for link in links.iterdir():
        try:
            if link.is_symlink() and os.readlink(link).startswith(str(node_dir) + "/"):
                link.unlink()
        except OSError:
            pass


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
