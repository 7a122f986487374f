"""The processes the benchmark runs (devcluster's operator and shim, its kopf floor, and
Kubernetes' Job controller) as it runs them, and their CPU and memory read from /proc."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import ssl
import sys
import time
import urllib.request
from pathlib import Path

from devcluster.binaries import ensure_binaries
from devcluster.commands import Command
from devcluster.components import CLIENT_BURST, CLIENT_QPS
from devcluster.managed import ManagedProcess
from devcluster.ports import free_ports

# The shim's family limits raised out of the way: the benchmark measures speed, not the
# limits (which tests/integration/test_shim_limits.py covers).
RAISED_LIMITS = ("--max-live-jobs", "1000000", "--max-depth", "10",
                 "--submit-rate", "1000000", "--submit-burst", "1000000",
                 "--request-rate", "1000000", "--request-burst", "1000000",
                 # The benchmark calls from loopback; latency.py passes a Pod's address on
                 # as a proxy would, to time SubmitJob's lookup of the calling job.
                 "--trusted-proxies", "127.0.0.1")


def kopf_floor_command(kubeconfig: Path, namespace: str) -> Command:
    """bench/kopf_floor.py: the least a kopf operator does for a job, on one namespace."""
    [health] = free_ports(1)
    argv = (sys.executable, "-m", "bench.kopf_floor", "--kubeconfig", str(kubeconfig), "-n", namespace,
            "--liveness", f"http://127.0.0.1:{health}/healthz")
    return Command("kopf-floor", argv, f"http://127.0.0.1:{health}/healthz")


def namespaced(command: Command, namespace: str) -> Command:
    """The operator's command, watching only `namespace` (its --namespace flag)."""
    return dataclasses.replace(command, argv=(*command.argv, "--namespace", namespace))


# The kube-controller-manager flag that runs only Kubernetes' Job controller.
JOB_CONTROLLER = "--controllers=job-controller"


def job_controller_command(kubeconfig: Path) -> Command:
    """Kubernetes' own Job controller: the cluster's kube-controller-manager binary (the
    same version as its API server) running that controller alone, with the client rate
    limits devcluster gives the cluster's own controller-manager."""
    [port] = free_ports(1)
    argv = (ensure_binaries().path("kube-controller-manager"), f"--kubeconfig={kubeconfig}",
            "--leader-elect=false", JOB_CONTROLLER, "--bind-address=127.0.0.1", f"--secure-port={port}",
            f"--kube-api-qps={CLIENT_QPS}", f"--kube-api-burst={CLIENT_BURST}")
    return Command("job-controller", argv, f"https://127.0.0.1:{port}/healthz")


class SelfSignedProcess(ManagedProcess):
    """A process whose ready URL is HTTPS with the certificate it made itself at start
    (kube-controller-manager's /healthz): a liveness probe on loopback, not trust."""

    def _ready(self) -> bool:
        context = ssl._create_unverified_context()
        with urllib.request.urlopen(self.command.ready_url, timeout=2, context=context) as resp:
            return bool(resp.status == 200)


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (resident peak) of a live process, in MB (10^6 B)."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            kib = int(rest.split()[0])
            found[key] = kib * 1024 / 1e6
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (fields 14 and 15 of /proc/<pid>/stat)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_idle(pid: int, timeout: float, window: float = 2.0, busy: float = 0.05) -> float:
    """Seconds until the process used less than `busy` of a core over `window` seconds."""
    started = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - started < timeout:
        await asyncio.sleep(window)
        now = cpu_seconds(pid)
        if now - before < busy * window:
            return time.monotonic() - started
        before = now
    raise TimeoutError(f"process {pid} still busy after {timeout:.0f}s")
