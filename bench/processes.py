"""The processes the benchmark runs (devcluster's operator and shim, and its kopf floor)
as it runs them, and their CPU and memory read from /proc."""
from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from devcluster.commands import Command
from devcluster.ports import free_ports

# The shim's family limits raised out of the way: the benchmark measures speed, not the
# limits (which tests/integration/test_shim_limits.py covers).
RAISED_LIMITS = ("--max-live-jobs", "1000000", "--max-depth", "10",
                 "--submit-rate", "1000000", "--submit-burst", "1000000",
                 "--request-rate", "1000000", "--request-burst", "1000000")


def kopf_floor_command(kubeconfig: Path, namespace: str) -> Command:
    """bench/kopf_floor.py: the least a kopf operator does for a job, on one namespace."""
    [health] = free_ports(1)
    argv = (sys.executable, "-m", "bench.kopf_floor", "--kubeconfig", str(kubeconfig), "-n", namespace,
            "--liveness", f"http://127.0.0.1:{health}/healthz")
    return Command("kopf-floor", argv, f"http://127.0.0.1:{health}/healthz")


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
