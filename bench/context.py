"""What every measurement gets: the API client, the shim and operator processes, the
sizes, and a way to say what it is doing."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes.aio import client

from bench.figures import Figure
from bench.processes import Process
from bench.shim_client import ShimClient
from bench.sizes import Sizes


@dataclass
class Context:
    api: client.ApiClient
    kubeconfig: Path
    shim: ShimClient
    shim_process: Process
    operator: Process
    operator_kubeconfig: Path  # the operator's identity, for what stands in for it
    logs: Path
    sizes: Sizes
    run_id: str
    kubectl: Path = Path("kubectl")  # the cluster's own, to run commands in pods
    started: float = field(default_factory=time.monotonic)

    def say(self, message: str) -> None:
        print(f"bench [{time.monotonic() - self.started:7.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Measurement:
    """A measurement's figures (the table's rows) and its details (results.json)."""
    figures: list[Figure]
    details: dict[str, Any]
