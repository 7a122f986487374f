"""What every measurement gets: the API client, the shim and operator processes, the
sizes, scratch namespaces, and a way to say what it is doing."""
from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes.aio import client

from bench.figures import Figure
from bench.shim_client import ShimClient
from bench.sizes import Sizes
from devcluster.managed import ManagedProcess
from devcluster.scratch import scratch_namespace

# On every namespace the benchmark makes: the run's id.
BENCH_LABEL = "bench.dlworkspace.io/run"


@dataclass
class Context:
    api: client.ApiClient
    kubeconfig: Path
    shim: ShimClient
    shim_process: ManagedProcess
    operator: ManagedProcess
    operator_kubeconfig: Path  # the operator's identity, for what stands in for it
    logs: Path
    sizes: Sizes
    run_id: str
    kubectl: Path = Path("kubectl")  # the cluster's own, to run commands in pods
    started: float = field(default_factory=time.monotonic)

    def say(self, message: str) -> None:
        print(f"bench [{time.monotonic() - self.started:7.1f}s] {message}", file=sys.stderr, flush=True)

    @asynccontextmanager
    async def namespace(self, prefix: str, timeout: float = 600.0) -> AsyncIterator[str]:
        """A fresh namespace bench-<prefix>-…, deleted afterwards and waited for until gone
        with all it held, so the next measurement starts on a quiet control plane."""
        async with scratch_namespace(self.api, f"bench-{prefix}-", {BENCH_LABEL: self.run_id},
                                     wait_deleted=timeout) as name:
            yield name


@dataclass
class Measurement:
    """A measurement's figures (the table's rows) and its details (results.json)."""
    figures: list[Figure]
    details: dict[str, Any]
