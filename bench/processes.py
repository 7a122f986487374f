"""The operator and the shim as processes of this benchmark: started, waited for,
restarted, stopped, and their memory read from /proc."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiohttp

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


class Process:
    """One long-running process of ours; stdout and stderr appended to `log`."""

    def __init__(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], log: Path,
                 ready_url: str) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log = log
        self.ready_url = ready_url
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None or self._proc.poll() is not None:
            raise RuntimeError(f"{self.name} is not running")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def spawn(self) -> None:
        """Starts the process without waiting for it to be ready."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self._proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True)

    async def wait_ready(self, timeout: float = 60.0) -> float:
        """Polls ready_url until 200 (seconds waited); fails at once if the process exits."""
        started = time.monotonic()
        deadline = started + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
                try:
                    async with http.get(self.ready_url) as resp:
                        if resp.status == 200:
                            return time.monotonic() - started
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready at {self.ready_url} after {timeout:.0f}s:\n{self.log_tail()}")

    async def start(self, timeout: float = 60.0) -> float:
        self.spawn()
        return await self.wait_ready(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to its process group, then SIGKILL after timeout. Idempotent."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}


def operator_process(kubeconfig: Path, rest_api: str, log: Path) -> Process:
    """dlws-operator as `make dev` runs it (devcluster/project.py), on free loopback ports."""
    health, metrics = free_port(), free_port()
    argv = [str(BIN / "dlws-operator"), "--kubeconfig", str(kubeconfig),
            "--liveness", f"http://127.0.0.1:{health}/healthz",
            "--metrics-host", "127.0.0.1", "--metrics-port", str(metrics)]
    return Process("dlws-operator", argv, env={**_environ(), "DLWS_REST_API": rest_api}, log=log,
                   ready_url=f"http://127.0.0.1:{health}/healthz")


def shim_process(kubeconfig: Path, port: int, log: Path, host: str = "127.0.0.1") -> Process:
    """dlws-api-shim with its family limits raised out of the way: the benchmark measures
    speed, not the limits (which tests/integration/test_shim_limits.py covers). Log level
    and access log as deployed (INFO), into a file."""
    argv = [str(BIN / "dlws-api-shim"), "--kubeconfig", str(kubeconfig),
            "--host", host, "--port", str(port),
            "--max-live-jobs", "1000000", "--max-depth", "10",
            "--submit-rate", "1000000", "--submit-burst", "1000000",
            "--request-rate", "1000000", "--request-burst", "1000000"]
    return Process("dlws-api-shim", argv, env=_environ(), log=log,
                   ready_url=f"http://{host}:{port}/readyz")


def kopf_floor_process(kubeconfig: Path, namespace: str, log: Path) -> Process:
    """bench/kopf_floor.py: the least a kopf operator does for a job, on one namespace."""
    health = free_port()
    argv = [sys.executable, "-m", "bench.kopf_floor", "--kubeconfig", str(kubeconfig), "-n", namespace,
            "--liveness", f"http://127.0.0.1:{health}/healthz"]
    return Process("kopf floor", argv, env=_environ(), log=log, ready_url=f"http://127.0.0.1:{health}/healthz")
