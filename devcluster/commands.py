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


# The operator's job defaults on one real node (this machine: 2 cores): DLWS's requests
# (500m CPU, 2048M memory) would let four jobs run at once, and the tests run a hundred.
# A cluster of one small machine asks little and caps as DLWS does (a limit of 2 cores, 2560M).
# manifests/overlays/local sets the same for the add-on installed on that node.
ONE_MACHINE_DEFAULTS = {
    "DLWS_OPERATOR_DEFAULT_CPUREQUEST": "10m",
    "DLWS_OPERATOR_DEFAULT_CPULIMIT": "2",
    "DLWS_OPERATOR_DEFAULT_MEMORYREQUEST": "32M",
    "DLWS_OPERATOR_DEFAULT_MEMORYLIMIT": "2560M",
}


def operator_command(kubeconfig: Path, rest_api: str, *, verbose: bool = False,
                     name: str = "dlws-operator", one_machine: bool = False,
                     storage_host_path: Path | None = None) -> Command:
    """dlws-operator on free loopback ports, injecting rest_api into pods as DLWS_REST_API;
    one_machine: with ONE_MACHINE_DEFAULTS (a real node, not kwok's); storage_host_path:
    the jobs' storage, a directory of the node (Layout.job_storage_dir)."""
    health, metrics = free_ports(2)
    argv = [str(BIN / "dlws-operator"), "--kubeconfig", str(kubeconfig),
            "--liveness", f"http://127.0.0.1:{health}/healthz",
            "--metrics-host", "127.0.0.1", "--metrics-port", str(metrics)]
    if verbose:
        argv.append("--verbose")
    env = {"DLWS_REST_API": rest_api, **(ONE_MACHINE_DEFAULTS if one_machine else {})}
    if storage_host_path is not None:
        env["DLWS_OPERATOR_STORAGE_HOST_PATH"] = str(storage_host_path)
    return Command(name, tuple(argv), f"http://127.0.0.1:{health}/healthz", env=env,
                   metrics_url=f"http://127.0.0.1:{metrics}/metrics")


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
