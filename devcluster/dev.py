"""`make dev`: the control plane plus the project's own long-running processes, or, with
IN_CLUSTER=1, the add-on installed into the cluster as a user installs it.

Ctrl-C (or SIGTERM) stops the extra processes, then the control plane if this command
started it (a cluster that was already running is left running).
"""
from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from devcluster import addon, project
from devcluster.cluster import LocalCluster
from devcluster.managed import ManagedProcess


def run(state_arg: str, node_kind: str, in_cluster: bool = False) -> int:
    cluster = LocalCluster(state_arg, node_kind=node_kind, in_cluster=in_cluster)
    was_running = cluster.info() is not None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        print(f"\ndevcluster: {signal.Signals(signum).name}, stopping", file=sys.stderr)
        stop.set()

    started: list[ManagedProcess] = []
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        # Ctrl-C during `up` raises KeyboardInterrupt; `up` stops what it started.
        info = cluster.up()
        for s in previous:
            signal.signal(s, on_signal)
        if in_cluster:
            addon.install(info, lambda m: print(f"devcluster: {m}", file=sys.stderr, flush=True))
        # Recorded in the cluster's run dir, so `make cluster-down` stops them too.
        for command in ([] if in_cluster else project.our_processes(info)):
            started.append(ManagedProcess(command, log_dir=cluster.layout.logs_dir, run_dir=cluster.layout.run_dir))
            started[-1].spawn()
        for proc in started:
            proc.wait_ready()
        job = project.start_sample_job(info)
        print(project.usage(info, job), flush=True)
        while not stop.wait(1.0):
            for proc in started:
                if not proc.running:
                    print(f"devcluster: {proc.command.name} exited:\n{proc.log_tail()}", file=sys.stderr)
                    stop.set()
        return 0 if all(proc.running for proc in started) else 1
    except KeyboardInterrupt:
        return 130
    finally:
        for proc in reversed(started):
            proc.stop()
        if not was_running:
            cluster.down()
        for s, handler in previous.items():
            signal.signal(s, handler)
