"""python -m bench [--quick | --sizes full|quick|tiny] [--out DIR] [--kubeconfig FILE] [--node real]

Runs issue 6's five measurements on kwok's fake nodes (or, with --node real, the real
node's measurements: jobs as containers), each against a baseline taken in the same run
on the same control plane, and writes DIR/results.json and DIR/results.md (default .bench).

Without --kubeconfig it starts its own local control plane (devcluster, state in
DIR/cluster) and stops it at the end. With --kubeconfig it uses that cluster, which must
be on loopback and must not run an operator of its own: the benchmark starts the
operator and the shim itself (the shim with its family limits raised out of the way),
and works only in namespaces it creates and deletes (bench-*).
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import (apimetrics, detail_log, distributed, kill_cascade, latency, real_jobs, real_storage, report, scale,
                   submit_ip, throughput, ttl_sweep)
from bench.context import Context, Measurement
from bench.figures import Figure
from bench.client import POOL, require_loopback
from bench.processes import RAISED_LIMITS, wait_idle
from bench.shim_client import ShimClient
from bench.sizes import PRESETS, QUICK, Sizes
from devcluster.commands import operator_command, shim_command
from devcluster.managed import ManagedProcess
from dlws_contract.kube_api import new_api_client

MEASUREMENTS: dict[str, Callable[[Context], Awaitable[Measurement]]] = {
    "latency": latency.measure,
    "throughput": throughput.measure,
    "submit_ip": submit_ip.measure,
    "kill_cascade": kill_cascade.measure,
    "scale": scale.measure,
    "distributed": distributed.measure_kwok,
    "detail_log": detail_log.measure,
    "ttl_sweep": ttl_sweep.measure,
}
# On a cluster with a real node (--node real), where jobs are containers.
REAL_NODE_MEASUREMENTS: dict[str, Callable[[Context], Awaitable[Measurement]]] = {
    "real_jobs": real_jobs.measure,
    "real_storage": real_storage.measure,
    "real_distributed": distributed.measure_real,
}


async def run_bench(kubeconfig: Path, sizes: Sizes, out: Path, *, only: Sequence[str] = (),
                    operator_kubeconfig: Path | None = None, shim_kubeconfig: Path | None = None,
                    command: str = "", host: str = "127.0.0.1", kubectl: Path = Path("kubectl"),
                    measurements: dict[str, Callable[[Context], Awaitable[Measurement]]] | None = None,
                    ) -> dict[str, Any]:
    """Starts the shim and the operator against the cluster, runs the measurements
    (all, or `only` those), writes the results into `out` and returns them. A
    measurement that fails is reported as such; the others still run."""
    server = require_loopback(kubeconfig)
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # What ran: the commit (and machine load) when the processes start, not at the end.
    revision, machine_at_start = report.commit(), report.machine()
    t0 = time.monotonic()
    run_id = uuid.uuid4().hex[:8]
    # This run's logs only; a process restarted within the run appends to its own.
    logs = out / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    # The shim where pods reach this machine: loopback for kwok's pods, a real node's bridge.
    shim_command_line = shim_command(shim_kubeconfig or kubeconfig, host=host, flags=RAISED_LIMITS)
    shim_proc = ManagedProcess(shim_command_line, log_dir=logs)
    operator = ManagedProcess(operator_command(operator_kubeconfig or kubeconfig, shim_command_line.url,
                                               one_machine=host != "127.0.0.1"),
                              log_dir=logs)
    api = await new_api_client(str(kubeconfig), pool=POOL)
    shim = ShimClient(shim_command_line.url)
    ctx = Context(api=api, kubeconfig=kubeconfig, shim=shim, shim_process=shim_proc, operator=operator,
                  operator_kubeconfig=operator_kubeconfig or kubeconfig, logs=logs, sizes=sizes, run_id=run_id,
                  kubectl=kubectl)
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    errors: dict[str, str] = {}
    try:
        await shim_proc.start_async()
        await operator.start_async()
        ctx.say(f"shim at {shim.url}, operator pid {operator.pid}; sizes {sizes.name}; logs in {logs}")
        for name, measure in (MEASUREMENTS if measurements is None else measurements).items():
            if only and name not in only:
                continue
            # Start on a quiet control plane: the operator done with what came before.
            await wait_idle(operator.pid, sizes.measurement_timeout)
            before = await apimetrics.request_counts(kubeconfig)
            began = time.monotonic()
            try:
                result = await asyncio.wait_for(measure(ctx), sizes.measurement_timeout * 2)
            except Exception as e:
                ctx.say(f"{name} failed: {type(e).__name__}: {e}")
                errors[name] = f"{type(e).__name__}: {e}"
                details[name] = {"error": traceback.format_exc()}
                continue
            figures.extend(result.figures)
            details[name] = result.details
            details[name]["duration_s"] = time.monotonic() - began
            details[name]["api_requests"] = apimetrics.delta(before, await apimetrics.request_counts(kubeconfig))
            ctx.say(f"{name} done in {time.monotonic() - began:.0f}s")
    finally:
        await ctx.shim.close()
        operator.stop()
        shim_proc.stop()
        await api.close()  # type: ignore[no-untyped-call]
    doc: dict[str, Any] = {
        "meta": {"command": command, "run_id": run_id, "started": started_at, "duration_s": time.monotonic() - t0,
                 "sizes": vars(sizes), "commit": revision, "machine": report.machine(),
                 "loadavg_at_start": machine_at_start["loadavg_1_5_15"],
                 "control_plane": report.control_plane(kubeconfig, server)},
        "measurements": details,
        "errors": errors,
    }
    report.write(out, doc, figures)
    doc["figures"] = [f.to_json() for f in figures]
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=".bench", help="results (and the cluster's state) go here")
    parser.add_argument("--quick", action="store_true", help="the same code with small sizes (a few minutes)")
    parser.add_argument("--sizes", choices=sorted(PRESETS), help="named sizes (default full; --quick: quick)")
    parser.add_argument("--kubeconfig", help="use this running cluster instead of starting one")
    parser.add_argument("--only", action="append", choices=[*MEASUREMENTS, *REAL_NODE_MEASUREMENTS], default=[],
                        help="run only this measurement (repeatable)")
    parser.add_argument("--node", choices=["kwok", "real"], default="kwok",
                        help="kwok: the five measurements on fake nodes (default); real: a real node's")
    args = parser.parse_args(argv)
    sizes = PRESETS[args.sizes] if args.sizes else QUICK if args.quick else PRESETS["full"]
    out = Path(args.out).absolute()
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    # SIGTERM unwinds like Ctrl-C: the processes and the cluster we started are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    cluster = None
    try:
        real = args.node == "real"
        if args.kubeconfig:
            kubeconfig = Path(args.kubeconfig).absolute()
            host, kubectl = "127.0.0.1", Path("kubectl")
            if real:
                raise SystemExit("bench: --node real starts its own cluster; it takes no --kubeconfig")
        else:
            from devcluster import LocalCluster
            cluster = LocalCluster(out / "cluster", node_kind=args.node)
            info = cluster.up()
            kubeconfig, host, kubectl = info.kubeconfig, info.host_address, info.kubectl
        doc = asyncio.run(run_bench(kubeconfig, sizes, out, only=args.only, command=command, host=host,
                                    kubectl=kubectl, measurements=REAL_NODE_MEASUREMENTS if real else None))
    finally:
        if cluster is not None:
            cluster.down()
    print((out / "results.md").read_text())
    return 1 if doc["errors"] else 0
