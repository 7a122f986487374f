"""One of our long-running programs as a child process: started and waited for until it
is ready, stopped, killed, restarted, and its log read. Blocking calls; async code
awaits the `_async` twins of the ones that wait for readiness."""
from __future__ import annotations

import asyncio
import os
import urllib.request
from pathlib import Path

from devcluster import processes
from devcluster.commands import Command
from devcluster.waiting import WaitTimeout, wait_until


class ManagedProcess:
    """`command` run with its output in <log_dir>/<name>.log; recorded in run_dir (so that
    `make cluster-down` stops it too) when one is given."""

    def __init__(self, command: Command, *, log_dir: Path, run_dir: Path | None = None) -> None:
        self.command = command
        self.log_path = log_dir / f"{command.name}.log"
        self.run_dir = run_dir
        self.record: processes.ProcessRecord | None = None

    @property
    def url(self) -> str:
        return self.command.url

    @property
    def metrics_url(self) -> str:
        return self.command.metrics_url

    @property
    def running(self) -> bool:
        return self.record is not None and processes.is_alive(self.record)

    @property
    def pid(self) -> int:
        if self.record is None or not self.running:
            raise RuntimeError(f"{self.command.name} is not running")
        return self.record.pid

    def spawn(self) -> None:
        """Starts the process without waiting for it to be ready."""
        if self.running:
            raise RuntimeError(f"{self.command.name} is already running")
        self.record = processes.spawn(self.command.name, self.command.argv, run_dir=self.run_dir,
                                      log_dir=self.log_path.parent, env={**os.environ, **self.command.env})

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds until its ready URL answered 200; ProcessExited at once if it exits, and
        stopped if it is not ready by the deadline."""
        record = self.record
        if record is None:
            raise RuntimeError(f"{self.command.name} was never started")
        try:
            return wait_until(f"{self.command.name} at {self.command.ready_url}", self._ready, timeout=timeout,
                              still_possible=lambda: processes.check_running(record), max_interval=0.1)
        except WaitTimeout as e:
            self.stop()
            raise WaitTimeout(f"{e}; last lines of {self.log_path}:\n{self.log_tail()}") from e

    def _ready(self) -> bool:
        with urllib.request.urlopen(self.command.ready_url, timeout=2) as resp:
            return bool(resp.status == 200)

    def start(self, timeout: float = 60.0) -> float:
        """spawn, then wait_ready; the seconds it took to be ready."""
        self.spawn()
        return self.wait_ready(timeout)

    async def start_async(self, timeout: float = 60.0) -> float:
        return await asyncio.to_thread(self.start, timeout)

    async def wait_ready_async(self, timeout: float = 60.0) -> float:
        return await asyncio.to_thread(self.wait_ready, timeout)

    def stop(self, *, kill: bool = False, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after timeout; kill: SIGKILL at once, as a crash would end
        it. Harmless when it is not running."""
        if self.record is not None:
            processes.stop(self.record, self.run_dir, timeout, kill=kill)

    def restart(self, *, kill: bool = True) -> None:
        self.stop(kill=kill)
        self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return processes.log_tail(self.log_path, lines)
