"""LocalCluster: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) running as local processes, all state under one directory, with either
kwok's fake nodes or one real node (kubelet, containerd, runc, CNI bridge)."""
from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devcluster import components, kubeconfig, nodes, pki, processes, real_node, services
from devcluster.apiclient import Api
from devcluster.binaries import IMAGES, PAUSE_IMAGE, Binaries, ensure_binaries
from devcluster.layout import MARKER, Layout
from devcluster.ports import free_ports
from devcluster.processes import ProcessRecord
from devcluster.waiting import WaitTimeout, wait_until

REPO_ROOT = Path(__file__).resolve().parents[1]
CRDS_DIR = REPO_ROOT / "crds"
# The jobs' PriorityClasses: every job's Pod names one, and a Pod naming a class that is
# not installed is refused. Installed with the CRDs, as `kubectl apply -k manifests` does.
PRIORITY_CLASSES = REPO_ROOT / "manifests" / "priority" / "priority-classes.yaml"
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
# What runs the nodes: kwok fakes them (fast, thousands of pods, no process ever runs);
# a real node runs each Pod's containers.
NODE_KINDS = {"kwok": ("kwok",), "real": ("containerd", "kubelet")}
# Cluster DNS runs beside every real node (a distributed job's Pods find each other by
# name); kube-proxy only with Services for pods (in_cluster): ClusterIPs.
DNS = ("coredns",)
PROXY = ("kube-proxy",)
SERVICES = PROXY + DNS


def components_of(node_kind: str, in_cluster: bool = False) -> tuple[str, ...]:
    return (CONTROL_PLANE + NODE_KINDS[node_kind] + (DNS if node_kind == "real" else ())
            + (PROXY if in_cluster else ()))

# Generous deadlines: on 2 busy cores the API server alone can take tens of seconds.
START_TIMEOUT = 120.0


class ClusterStartError(RuntimeError):
    pass


@dataclass(frozen=True)
class ClusterInfo:
    """What a running cluster's cluster.json says (plus the admin token, from the kubeconfig)."""

    state_dir: Path
    server: str
    kubeconfig: Path
    ca_file: Path
    token: str
    bin_dir: Path
    ports: dict[str, int]
    nodes: list[str]
    crds: list[str]
    pids: dict[str, int]
    startup_seconds: float
    steps: dict[str, float] = field(default_factory=dict)
    node_kind: str = "kwok"
    # Where pods reach services on this machine (the shim): loopback for kwok's fake pods,
    # the bridge's address for a real node's.
    host_address: str = "127.0.0.1"
    # Pods reach Services by ClusterIP and DNS name (kube-proxy, CoreDNS): the add-on can
    # run inside the cluster.
    in_cluster: bool = False

    @property
    def kubectl(self) -> Path:
        return self.bin_dir / "kubectl"

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        del doc["token"]  # it lives in the kubeconfig (mode 0600) only
        return {k: str(v) if isinstance(v, Path) else v for k, v in doc.items()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ClusterInfo:
        kubeconfig_path = Path(doc["kubeconfig"])
        return cls(
            state_dir=Path(doc["state_dir"]),
            server=doc["server"],
            kubeconfig=kubeconfig_path,
            ca_file=Path(doc["ca_file"]),
            token=kubeconfig.read(kubeconfig_path).token,
            bin_dir=Path(doc["bin_dir"]),
            ports=dict(doc["ports"]),
            nodes=list(doc["nodes"]),
            crds=list(doc.get("crds", [])),
            pids=dict(doc["pids"]),
            startup_seconds=float(doc["startup_seconds"]),
            steps=dict(doc.get("steps", {})),
            node_kind=str(doc.get("node_kind", "kwok")),
            host_address=str(doc.get("host_address", "127.0.0.1")),
            in_cluster=bool(doc.get("in_cluster", False)),
        )


def _kind(node_kind: str, in_cluster: bool) -> str:
    return f"{node_kind} nodes" + (" and Services for pods" if in_cluster else "")


def _say(message: str) -> None:
    print(f"devcluster: {message}", file=sys.stderr, flush=True)


def _http_ok(url: str, expect: str | None = None) -> bool:
    # The controller-manager and scheduler serve /healthz with self-signed certificates
    # made at start; this is a liveness probe on loopback, not a trust decision.
    context = ssl._create_unverified_context() if url.startswith("https:") else None
    with urllib.request.urlopen(url, timeout=2, context=context) as response:
        body = response.read().decode(errors="replace")
        return response.status == 200 and (expect is None or expect in body)


class LocalCluster:
    def __init__(
        self,
        state_dir: Path | str,
        *,
        node_count: int = nodes.DEFAULT_NODES,
        node_kind: str = "kwok",
        in_cluster: bool = False,
        crds_dir: Path | None = CRDS_DIR,
        say: Callable[[str], None] = _say,
    ) -> None:
        if node_kind not in NODE_KINDS:
            raise ValueError(f"node kind {node_kind!r} is not one of {', '.join(NODE_KINDS)}")
        if in_cluster and node_kind != "real":
            raise ValueError("Services for pods (in_cluster) need the real node: kwok's pods run no process")
        self.layout = Layout.at(state_dir)
        self.node_count = node_count
        self.node_kind = node_kind
        self.in_cluster = in_cluster
        self.crds_dir = crds_dir
        self._say = say

    # -- status -------------------------------------------------------------------------

    def info(self) -> ClusterInfo | None:
        """The running cluster, or None when it is not (fully) running and ready."""
        try:
            info = ClusterInfo.from_json(json.loads(self.layout.cluster_json.read_text()))
        except (OSError, ValueError, KeyError):
            return None
        records = {r.name: r for r in processes.read_records(self.layout.run_dir)}
        if not all(n in records and processes.is_alive(records[n])
                   for n in components_of(info.node_kind, info.in_cluster)):
            return None
        try:
            status, _ = Api(info.server, info.ca_file, info.token, timeout=5).raw("GET", "/readyz")
        except OSError:
            return None
        return info if status == 200 else None

    # -- up -----------------------------------------------------------------------------

    def up(self) -> ClusterInfo:
        t0 = time.monotonic()
        running = self.info()
        if running is not None:
            if (running.node_kind, running.in_cluster) != (self.node_kind, self.in_cluster):
                raise ClusterStartError(
                    f"{self.layout.state_dir} already runs a cluster with {_kind(running.node_kind, running.in_cluster)}; "
                    f"stop it first (make cluster-down) to start one with {_kind(self.node_kind, self.in_cluster)}")
            self._say(f"already running ({self.layout.kubeconfig})")
            return running
        if self.node_kind == "real":
            real_node.check_machine(real_node.NodePlan.of(self.layout))
        self._clear_leftovers()
        if self.in_cluster:
            services.check_machine()
        binaries = ensure_binaries()
        steps: dict[str, float] = {"binaries": time.monotonic() - t0}
        started: list[ProcessRecord] = []
        starter = _Starter(self.layout, started, steps, self._say)
        try:
            info = starter.run(binaries, self.crds_dir, self.node_count, self.node_kind, self.in_cluster, t0)
        except BaseException as e:
            self._say(f"start failed while {starter.step}; stopping what it started")
            # The PID files are the complete list (`started` could miss one whose start
            # was interrupted between its PID file and the append).
            recorded = {r.pid: r for r in started + processes.read_records(self.layout.run_dir)}
            for record in sorted(recorded.values(), key=lambda r: r.order, reverse=True):
                processes.stop(record, self.layout.run_dir)
            self._remove_node_leftovers()
            self._remove_etcd_data()
            self.layout.cluster_json.unlink(missing_ok=True)
            if not isinstance(e, Exception):
                raise  # KeyboardInterrupt, SystemExit: cleaned up, now let it through
            raise ClusterStartError(
                f"failed while {starter.step}: {e}\n(logs: {self.layout.logs_dir})"
            ) from e
        self._say(f"control plane up in {info.startup_seconds:.1f}s (binaries checked in {steps['binaries']:.1f}s)")
        return info

    def _clear_leftovers(self) -> None:
        """Stop whatever a previous, crashed or half-stopped run left, and start clean."""
        state = self.layout.state_dir
        if state.exists() and any(state.iterdir()) and not self.layout.marker.exists():
            raise ClusterStartError(f"{state} is not empty and not a devcluster state directory")
        self._stop_recorded()
        self._remove_node_leftovers()
        self._remove_etcd_data()
        if state.exists():
            shutil.rmtree(state)
        state.mkdir(parents=True)
        state.chmod(0o700)
        self.layout.marker.write_text("Created by `python -m devcluster up`; removed by `down`.\n")

    # -- down ---------------------------------------------------------------------------

    def down(self, *, keep_logs: bool = False) -> None:
        """Stop every recorded process (newest first) and remove the state. Idempotent."""
        state = self.layout.state_dir
        stopped = self._stop_recorded()
        self._remove_node_leftovers()
        self._remove_etcd_data()
        if not state.exists():
            self._say(f"nothing to stop at {state}")
            return
        if not self.layout.marker.exists():
            self._say(f"{state} is not a devcluster state directory; left alone")
            return
        keep = {"logs", MARKER} if keep_logs else set()
        for child in state.iterdir():
            if child.name in keep:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        if not keep_logs:
            state.rmdir()
        removed = f"removed {state}" + (" except its logs" if keep_logs else "")
        self._say(f"stopped {', '.join(stopped) or 'nothing (no process was running)'}; {removed}")

    def _stop_recorded(self) -> list[str]:
        stopped = []
        for record in reversed(processes.read_records(self.layout.run_dir)):
            if processes.is_alive(record):
                stopped.append(record.name)
            processes.stop(record, self.layout.run_dir)
        return stopped

    def _remove_node_leftovers(self) -> None:
        """A real node's containers, mounts, cgroups and bridge; then make sure nothing is
        still mounted under the state dir, which is about to be deleted."""
        removed = real_node.cleanup(self.layout) + services.cleanup()
        if removed:
            self._say(f"removed the real node's {', '.join(removed)}")
        left = real_node.mounts_under(self.layout.state_dir)
        if left:
            raise ClusterStartError(f"still mounted under {self.layout.state_dir}, so it is left in place: "
                                    f"{', '.join(left[:5])}")

    def _remove_etcd_data(self) -> None:
        shutil.rmtree(self.layout.etcd_data_dir.parent, ignore_errors=True)

    # -- one component at a time (fault injection) --------------------------------------

    def stop_component(self, name: str, *, kill: bool = False) -> None:
        """Stops one component of the running cluster and keeps everything it needs to come
        back as it was: its command line (so the same flags and ports) and its data
        (etcd's stays on tmpfs). kill: SIGKILL at once, as a crash would end it."""
        record = self._record(name)
        self._stopped_file(name).write_text(json.dumps(asdict(record)))
        processes.stop(record, self.layout.run_dir, kill=kill)
        self._say(f"stopped {name}" + (" (SIGKILL)" if kill else ""))

    def start_component(self, name: str, *, timeout: float = START_TIMEOUT) -> float:
        """Starts a component that stop_component stopped, with the same command line, and
        waits until it is healthy and the API server is ready again; returns the seconds
        that took."""
        stopped = self._stopped_file(name)
        try:
            saved = json.loads(stopped.read_text())
        except OSError:
            raise ClusterStartError(f"{name} was not stopped by stop_component") from None
        info = ClusterInfo.from_json(json.loads(self.layout.cluster_json.read_text()))
        record = processes.spawn(name, saved["argv"], run_dir=self.layout.run_dir,
                                 log_dir=self.layout.logs_dir, env=_component_env(name, self.layout, info),
                                 order=int(saved["order"]))
        stopped.unlink()
        doc = info.to_json()
        doc["pids"][name] = record.pid
        self.layout.cluster_json.write_text(json.dumps(doc, indent=2) + "\n")
        api = Api(info.server, info.ca_file, info.token, timeout=5)
        probes = _health_probes(info, api)
        try:
            took = wait_until(f"{name} to be healthy", probes[name], timeout=timeout,
                              still_possible=lambda: processes.check_running(record))
            took += wait_until("the API server to be ready", probes["kube-apiserver"],
                               timeout=timeout, still_possible=lambda: processes.check_running(record))
            # /readyz does not cover custom resources: for a moment after a restart their
            # storage answers 429 "storage is (re)initializing".
            took += wait_until("the custom resources to be served",
                               lambda: all(_custom_resource_served(api, crd) for crd in info.crds),
                               timeout=timeout, still_possible=lambda: processes.check_running(record))
        except WaitTimeout as e:
            raise ClusterStartError(f"{e}; last lines of {record.log}:\n"
                                    f"{processes.log_tail(Path(record.log))}") from e
        self._say(f"started {name} again ({took:.1f}s)")
        return took

    def restart(self, name: str, *, kill: bool = False) -> float:
        """stop_component, then start_component: the same process back, same flags, ports
        and data. Returns the seconds from the start until it was healthy."""
        self.stop_component(name, kill=kill)
        return self.start_component(name)

    def _record(self, name: str) -> ProcessRecord:
        every = CONTROL_PLANE + tuple(c for kind in NODE_KINDS.values() for c in kind) + SERVICES
        if name not in every:
            raise ValueError(f"{name!r} is not one of {', '.join(every)}")
        for record in processes.read_records(self.layout.run_dir):
            if record.name == name and processes.is_alive(record):
                return record
        raise ClusterStartError(f"{name} is not running in {self.layout.state_dir}")

    def _stopped_file(self, name: str) -> Path:
        return self.layout.run_dir / f"{name}.stopped"


class _Starter:
    """One start attempt, step by step; `step` names the one in progress for errors."""

    def __init__(
        self,
        layout: Layout,
        started: list[ProcessRecord],
        steps: dict[str, float],
        say: Callable[[str], None],
    ) -> None:
        self.layout = layout
        self.started = started
        self.steps = steps
        self.say = say
        self.step = "preparing the state directory"

    def run(self, b: Binaries, crds_dir: Path | None, node_count: int, node_kind: str, in_cluster: bool,
            t0: float) -> ClusterInfo:
        layout = self.layout
        for d in (layout.logs_dir, layout.run_dir, layout.kwok_home):
            d.mkdir(parents=True, exist_ok=True)
        layout.etcd_data_dir.mkdir(parents=True, mode=0o700)
        plan = None
        if node_kind == "real":
            # First, so that with Services the API server can listen on the bridge, where
            # pods reach it through the `kubernetes` Service.
            self.step = "choosing the real node's pod subnet"
            plan = real_node.plan_on_free_subnet(layout)
            self.step = f"making the real node's bridge {plan.bridge} ({plan.subnet})"
            real_node.make_bridge(plan, forwarding=in_cluster)
        address = plan.node_ip if plan is not None and in_cluster else "127.0.0.1"
        self.step = "making certificates and keys"
        extra_ips = (address,) if address != "127.0.0.1" else ()
        keys = self._timed("pki", lambda: pki.generate(layout.pki_dir, extra_ips))
        ports = components.Ports(*free_ports(6))
        server = f"https://{address}:{ports.apiserver}"
        kubeconfig.write(layout.kubeconfig, server=server, ca_file=keys.ca_cert, token=keys.admin_token)
        api = Api(server, keys.ca_cert, keys.admin_token)

        etcd = self._start("etcd", components.etcd(b, layout, ports))
        self._wait("etcd", f"etcd at 127.0.0.1:{ports.etcd_client}", etcd,
                   lambda: _http_ok(f"http://127.0.0.1:{ports.etcd_client}/health", '"health":"true"'))

        apiserver = self._start("kube-apiserver", components.kube_apiserver(b, layout, keys, ports, address))
        self._wait("kube-apiserver", f"{server}/readyz", apiserver,
                   lambda: api.raw("GET", "/readyz")[0] == 200)

        # CRDs before the controller-manager: its garbage collector reads discovery at
        # start and then only every 30 s, and must know the custom resources at once.
        self.step = f"installing the CRDs in {crds_dir}"
        crd_names = self._install_crds(b, crds_dir, api, apiserver)

        kcm = self._start("kube-controller-manager",
                          components.kube_controller_manager(b, layout, keys, ports, in_cluster,
                                                             real_node=node_kind == "real"))
        self._wait("kube-controller-manager", "kube-controller-manager /healthz", kcm,
                   lambda: _http_ok(f"https://127.0.0.1:{ports.controller_manager}/healthz"))

        scheduler = self._start("kube-scheduler", components.kube_scheduler(b, layout, ports))
        self._wait("kube-scheduler", "kube-scheduler /healthz", scheduler,
                   lambda: _http_ok(f"https://127.0.0.1:{ports.scheduler}/healthz"))

        all_ports = {k: int(v) for k, v in asdict(ports).items()}
        host_address = "127.0.0.1"
        if plan is not None:
            self._start_real_node(plan, b, keys, server, api, all_ports, in_cluster)
            node_names, host_address = [pki.REAL_NODE_NAME], plan.node_ip
            if in_cluster:
                self._start_proxy(plan, b, api, all_ports)
        else:
            node_names = self._start_kwok(b, ports, api, node_count)

        self._wait("default-serviceaccount", "the ServiceAccount default/default", kcm,
                   lambda: api.exists("/api/v1/namespaces/default/serviceaccounts/default"))

        info = ClusterInfo(
            state_dir=layout.state_dir,
            server=server,
            kubeconfig=layout.kubeconfig,
            ca_file=keys.ca_cert,
            token=keys.admin_token,
            bin_dir=b.bin_dir,
            ports=all_ports,
            nodes=node_names,
            crds=crd_names,
            pids={r.name: r.pid for r in self.started},
            startup_seconds=round(time.monotonic() - t0, 2),
            steps={k: round(v, 2) for k, v in self.steps.items()},
            node_kind=node_kind,
            host_address=host_address,
            in_cluster=in_cluster,
        )
        layout.cluster_json.write_text(json.dumps(info.to_json(), indent=2) + "\n")
        return info

    def _start_kwok(self, b: Binaries, ports: components.Ports, api: Api, count: int) -> list[str]:
        kwok = self._start("kwok", components.kwok(b, self.layout, ports),
                           env=_component_env("kwok", self.layout))
        self._wait("kwok", "kwok /healthz", kwok, lambda: _http_ok(f"http://127.0.0.1:{ports.kwok}/healthz"))
        self.step = "creating the kwok nodes"
        node_names = nodes.create(api, count)
        self._wait("nodes", f"nodes {', '.join(node_names)} to be Ready", kwok,
                   lambda: all(nodes.is_ready(api, n) for n in node_names))
        return node_names

    def _start_real_node(self, plan: real_node.NodePlan, b: Binaries, keys: pki.Pki, server: str, api: Api,
                         ports: dict[str, int], in_cluster: bool) -> None:
        ports["kubelet"], ports["kubelet_healthz"] = free_ports(2)
        self.step = f"preparing the real node (bridge {plan.bridge}, pods in {plan.subnet})"
        # Pods ask CoreDNS on the bridge itself, or with kube-proxy through the kube-dns
        # Service, as on other clusters.
        self._timed("node-setup", lambda: real_node.prepare(
            plan, b, keys, server, PAUSE_IMAGE.ref, (ports["kubelet"], ports["kubelet_healthz"]),
            service_cidr=components.SERVICE_CIDR if in_cluster else None,
            cluster_dns=services.DNS_IP if in_cluster else plan.node_ip))
        self._start_dns(plan, b, ports)
        env = real_node.runtime_env(b)
        containerd = self._start("containerd", real_node.containerd_argv(plan, b), env=env)
        self._wait("containerd", f"containerd at {plan.containerd_socket}", containerd,
                   lambda: real_node.containerd_ready(plan, b))
        self.step = "importing the images into containerd"
        self._timed("images", lambda: real_node.import_images(plan, b, [b.image_tarball(i) for i in IMAGES]))
        kubelet = self._start("kubelet", real_node.kubelet_argv(plan, b), env=env)
        self._wait("nodes", f"node {pki.REAL_NODE_NAME} to be Ready", kubelet,
                   lambda: nodes.is_ready(api, pki.REAL_NODE_NAME))

    def _start_dns(self, plan: real_node.NodePlan, b: Binaries, ports: dict[str, int]) -> None:
        """CoreDNS on the bridge's address, answering before any pod can start."""
        names = ("coredns_ready", "coredns_health")
        ports.update(zip(names, free_ports(len(names))))
        corefile = services.write_corefile(plan.dir, self.layout.kubeconfig, plan.node_ip, ports)
        coredns = self._start("coredns", services.coredns_argv(b, corefile), env=real_node.runtime_env(b))
        self._wait("coredns", "CoreDNS /ready", coredns,
                   lambda: _http_ok(f"http://127.0.0.1:{ports['coredns_ready']}/ready"))
        self._wait("cluster-dns", f"kubernetes.default.svc to resolve at {plan.node_ip}", coredns,
                   lambda: services.resolves(f"kubernetes.default.svc.{services.CLUSTER_DOMAIN}", plan.node_ip))

    def _start_proxy(self, plan: real_node.NodePlan, b: Binaries, api: Api, ports: dict[str, int]) -> None:
        """kube-proxy, and the kube-dns Service in front of CoreDNS."""
        names = ("kube_proxy_healthz", "kube_proxy_metrics")
        ports.update(zip(names, free_ports(len(names))))
        proxy_config = services.write_proxy_config(plan.dir, self.layout.kubeconfig, str(plan.subnet),
                                                   plan.node_ip, ports)
        proxy = self._start("kube-proxy", services.kube_proxy_argv(b, proxy_config), env=real_node.runtime_env(b))
        self._wait("kube-proxy", "kube-proxy /healthz", proxy,
                   lambda: _http_ok(f"http://127.0.0.1:{ports['kube_proxy_healthz']}/healthz"))
        self.step = "creating the kube-dns Service"
        for path, obj in services.dns_objects(plan.node_ip):
            api.create(path, obj)
        # Pods may start at once: the Service's name must resolve through its ClusterIP.
        self._wait("cluster-dns", "kubernetes.default.svc to resolve at the kube-dns Service", proxy,
                   lambda: services.resolves(f"kubernetes.default.svc.{services.CLUSTER_DOMAIN}"))

    def _timed(self, name: str, fn: Callable[[], Any]) -> Any:
        t = time.monotonic()
        result = fn()
        self.steps[name] = self.steps.get(name, 0.0) + time.monotonic() - t
        return result

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> ProcessRecord:
        self.step = f"starting {name}"
        record = processes.spawn(name, argv, run_dir=self.layout.run_dir, log_dir=self.layout.logs_dir, env=env)
        self.started.append(record)
        return record

    def _all_running(self) -> None:
        for record in self.started:
            processes.check_running(record)

    def _wait(self, step: str, what: str, owner: ProcessRecord, probe: Callable[[], bool]) -> None:
        """Poll `probe`; fail at once if any started process dies, with its log's tail."""
        self.step = f"waiting for {what}"
        try:
            took = wait_until(what, probe, timeout=START_TIMEOUT, still_possible=self._all_running)
        except WaitTimeout as e:
            raise WaitTimeout(f"{e}; last lines of {owner.log}:\n{processes.log_tail(Path(owner.log))}") from e
        self.steps[step] = self.steps.get(step, 0.0) + took
        self.say(f"{step} ready ({took:.1f}s)")

    def _install_crds(self, b: Binaries, crds_dir: Path | None, api: Api, apiserver: ProcessRecord) -> list[str]:
        """kubectl apply every CustomResourceDefinition found in the folder's YAML files,
        and with them the jobs' PriorityClasses (PRIORITY_CLASSES).

        Only CRDs: the folder also holds a kustomization.yaml, which is no API object.
        """
        files = sorted(crds_dir.glob("*.yaml")) + sorted(crds_dir.glob("*.yml")) if crds_dir else []
        crds = [
            doc
            for path in files
            for doc in yaml.safe_load_all(path.read_text())
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
        ]
        if not crds:
            return []
        priority_classes = list(yaml.safe_load_all(PRIORITY_CLASSES.read_text()))
        result = subprocess.run(
            [b.kubectl, f"--kubeconfig={self.layout.kubeconfig}", "apply", "-f", "-"],
            input=yaml.safe_dump_all(crds + priority_classes), capture_output=True, text=True, env=_environ(),
            check=False,
        )
        if result.returncode != 0:
            raise ClusterStartError(f"kubectl apply failed:\n{result.stderr.strip()}")
        names = [str(crd["metadata"]["name"]) for crd in crds]
        self._wait("crds", f"CRDs {', '.join(names)} to be Established", apiserver,
                   lambda: all(_crd_established(api, n) for n in names))
        return names


def _crd_established(api: Api, name: str) -> bool:
    crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    conditions = crd.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _custom_resource_served(api: Api, crd_name: str) -> bool:
    crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd_name}")
    spec = crd["spec"]
    version = next(v["name"] for v in spec["versions"] if v.get("storage"))
    scope = "" if spec["scope"] == "Cluster" else "namespaces/default/"
    path = f"/apis/{spec['group']}/{version}/{scope}{spec['names']['plural']}?limit=1"
    return api.raw("GET", path)[0] == 200


def _component_env(name: str, layout: Layout, info: ClusterInfo | None = None) -> dict[str, str] | None:
    """The environment a component runs with (None: ours, less KUBECONFIG)."""
    if name == "kwok":
        return {**_environ(), "HOME": str(layout.kwok_home)}
    if name in NODE_KINDS["real"] + SERVICES and info is not None:
        return real_node.runtime_env(Binaries(info.bin_dir))
    return None


def _health_probes(info: ClusterInfo, api: Api) -> dict[str, Callable[[], bool]]:
    ports = info.ports
    return {
        "etcd": lambda: _http_ok(f"http://127.0.0.1:{ports['etcd_client']}/health", '"health":"true"'),
        "kube-apiserver": lambda: api.raw("GET", "/readyz")[0] == 200,
        "kube-controller-manager": lambda: _http_ok(f"https://127.0.0.1:{ports['controller_manager']}/healthz"),
        "kube-scheduler": lambda: _http_ok(f"https://127.0.0.1:{ports['scheduler']}/healthz"),
        "kwok": lambda: _http_ok(f"http://127.0.0.1:{ports['kwok']}/healthz"),
        "containerd": lambda: real_node.containerd_ready(real_node.NodePlan.of(Layout.at(info.state_dir)),
                                                         Binaries(info.bin_dir)),
        "kubelet": lambda: _http_ok(f"http://127.0.0.1:{ports.get('kubelet_healthz')}/healthz"),
        "kube-proxy": lambda: _http_ok(f"http://127.0.0.1:{ports.get('kube_proxy_healthz')}/healthz"),
        "coredns": lambda: _http_ok(f"http://127.0.0.1:{ports.get('coredns_ready')}/ready"),
    }


def _environ() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KUBECONFIG", None)
    return env
