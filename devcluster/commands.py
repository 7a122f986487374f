"""How our programs run beside a cluster: the operator's and the shim's command lines, the
environment they get, and where each answers. `make dev`, the tests and the benchmarks
all start them from here."""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devcluster.ports import free_ports

# The console scripts of the editable install, beside this Python.
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Command:
    """One program to run: its name (and its log file's), command line, environment on
    top of ours, and the URLs it answers on."""

    name: str
    argv: tuple[str, ...]
    ready_url: str  # answers 200 once the program is ready
    env: Mapping[str, str] = field(default_factory=dict)
    url: str = ""  # the shim: its API root, ending with "/"
    metrics_url: str = ""


def operator_command(kubeconfig: Path, rest_api: str, *, verbose: bool = False,
                     name: str = "dlws-operator") -> Command:
    """dlws-operator on free loopback ports, injecting rest_api into pods as DLWS_REST_API."""
    health, metrics = free_ports(2)
    argv = [str(BIN / "dlws-operator"), "--kubeconfig", str(kubeconfig),
            "--liveness", f"http://127.0.0.1:{health}/healthz",
            "--metrics-host", "127.0.0.1", "--metrics-port", str(metrics)]
    if verbose:
        argv.append("--verbose")
    return Command(name, tuple(argv), f"http://127.0.0.1:{health}/healthz",
                   env={"DLWS_REST_API": rest_api}, metrics_url=f"http://127.0.0.1:{metrics}/metrics")


def shim_command(kubeconfig: Path, *, host: str = "127.0.0.1", port: int | None = None,
                 flags: Sequence[str] = (), name: str = "dlws-api-shim") -> Command:
    """dlws-api-shim on host (where pods reach it) and port (default: a free one), with
    extra flags (its limits, timeouts)."""
    if port is None:
        [port] = free_ports(1)
    url = f"http://{host}:{port}/"
    # No Service in front of a shim on this machine: nothing to wait for at a stop.
    argv = [str(BIN / "dlws-api-shim"), "--kubeconfig", str(kubeconfig),
            "--host", host, "--port", str(port), "--shutdown-delay", "0", *flags]
    return Command(name, tuple(argv), url + "readyz", url=url, metrics_url=url + "metrics")
