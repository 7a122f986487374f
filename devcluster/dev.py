"""`make dev`: the control plane plus the project's own long-running processes.

Ctrl-C (or SIGTERM) stops the extra processes, then the control plane if this command
started it (a cluster that was already running is left running).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from devcluster import processes, project
from devcluster.cluster import ClusterInfo, LocalCluster


@dataclass(frozen=True)
class ExtraProcess:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


def extra_processes(cluster: ClusterInfo) -> list[ExtraProcess]:
    """The hook: long-running processes to start once the cluster is up.

    They run with the admin kubeconfig, are recorded in the cluster's run dir (so `make
    cluster-down` stops them too) and are stopped first. The operator and the API shim
    go here.
    """
    return [
        ExtraProcess("dlws-operator", project.operator_argv(cluster), {"DLWS_REST_API": project.shim_url(cluster)}),
        ExtraProcess("dlws-api-shim", project.shim_argv(cluster)),
    ]


def run(state_arg: str, node_kind: str) -> int:
    cluster = LocalCluster(state_arg, node_kind=node_kind)
    was_running = cluster.info() is not None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        print(f"\ndevcluster: {signal.Signals(signum).name}, stopping", file=sys.stderr)
        stop.set()

    started: list[processes.ProcessRecord] = []
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        # Ctrl-C during `up` raises KeyboardInterrupt; `up` stops what it started.
        info = cluster.up()
        for s in previous:
            signal.signal(s, on_signal)
        for extra in extra_processes(info):
            started.append(
                processes.spawn(
                    extra.name,
                    extra.argv,
                    run_dir=cluster.layout.run_dir,
                    log_dir=cluster.layout.logs_dir,
                    env={**os.environ, **extra.env},
                )
            )
        project.wait_for_shim(info)
        job = project.start_sample_job(info)
        print(project.usage(info, state_arg, job), flush=True)
        while not stop.wait(1.0):
            for record in started:
                if not processes.is_alive(record):
                    print(f"devcluster: {record.name} exited:\n{processes.log_tail(Path(record.log))}",
                          file=sys.stderr)
                    stop.set()
        return 0 if all(processes.is_alive(r) for r in started) else 1
    except KeyboardInterrupt:
        return 130
    finally:
        for record in reversed(started):
            processes.stop(record, cluster.layout.run_dir)
        if not was_running:
            cluster.down()
        for s, handler in previous.items():
            signal.signal(s, handler)
