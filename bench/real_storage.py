"""What DLWS's storage costs a job's start on a real node (`python -m bench --node real`).

Two operators, each watching a namespace of its own: one with the jobs' storage (a
directory of this machine, as `make dev` sets it: /data, /work and /job as subPaths, and
the `dlws-dirs` init container before the job), one without (/work and /job empty
directories of the Pod). Samples alternate between them, the first of each pair swapped
every round: SubmitJob (from this machine, so the child hangs under its family's root) to
the job's container running, as a watch on the namespace's Pods sees it. Each child is
killed, and gone, before the next sample.
"""
from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from bench.context import Context, Measurement
from bench.figures import Figure
from bench.jobs import Family, JobsApi
from bench.processes import namespaced
from bench.real_jobs import SLEEP_CMD, job_params
from bench.stats import summary_ms
from bench.client import JSON
from bench.tracker import Tracker, pods_call
from devcluster.commands import operator_command
from devcluster.managed import ManagedProcess
from dlws_operator.pod_spec import CONTAINER_NAME


def job_running(pod: JSON) -> bool:
    """The job's own container runs (after any init container)."""
    return any(s.get("name") == CONTAINER_NAME and "running" in (s.get("state") or {})
               for s in (pod.get("status") or {}).get("containerStatuses") or [])


class Side:
    """One operator and its namespace, family and Pod watch."""

    def __init__(self, ctx: Context, name: str, namespace: str, storage: Path | None) -> None:
        self.ctx, self.name, self.namespace = ctx, name, namespace
        command = operator_command(ctx.operator_kubeconfig, ctx.shim.url, one_machine=True, name=f"operator-{name}",
                                   storage_host_path=storage)
        self.operator = ManagedProcess(namespaced(command, namespace), log_dir=ctx.logs)
        self.pods = Tracker(pods_call(ctx.api, namespace), match=job_running)
        self.family: Family | None = None
        self.samples: list[float] = []

    async def start(self) -> None:
        await self.operator.start_async()
        self.family = await JobsApi(self.ctx.api, self.namespace, job_params(SLEEP_CMD)).make_family(
            f"bench-root-{uuid.uuid4().hex[:6]}")
        await self.pods.start()

    async def sample(self) -> None:
        assert self.family is not None
        timeout = self.ctx.sizes.measurement_timeout
        start = time.perf_counter()
        job = await self.ctx.shim.submit(self.family, **job_params(SLEEP_CMD))
        self.samples.append(await self.pods.matched_at(job, timeout) - start)
        await self.ctx.shim.kill(self.family, job)
        await self.pods.all_deleted([job], timeout)

    async def stop(self) -> None:
        await self.pods.stop()
        self.operator.stop()


async def measure(ctx: Context) -> Measurement:
    storage = ctx.logs.parent / f"job-storage-{ctx.run_id}"
    storage.mkdir(parents=True, exist_ok=True)
    async with ctx.namespace("real-storage") as with_ns, ctx.namespace("real-plain") as plain_ns:
        sides = [Side(ctx, "storage", with_ns, storage), Side(ctx, "plain", plain_ns, None)]
        try:
            for side in sides:
                await side.start()
            for i in range(ctx.sizes.real_answer_samples):
                for side in sides if i % 2 == 0 else sides[::-1]:
                    await side.sample()
        finally:
            for side in sides:
                await side.stop()
    await asyncio.to_thread(shutil.rmtree, storage, True)
    with_storage, plain = (summary_ms(s.samples) for s in sides)
    details: dict[str, Any] = {"with_storage_ms": with_storage, "without_storage_ms": plain,
                               "with_storage_s": sides[0].samples, "without_storage_s": sides[1].samples}
    n = ctx.sizes.real_answer_samples
    return Measurement([Figure(
        "real_node.storage_start.p50", f"Real node: SubmitJob to the job's container running, with the jobs' "
        f"storage (subPath mounts, dlws-dirs init container), p50 of {n}", "ms", with_storage["p50_ms"],
        plain["p50_ms"], "info", None, "the same job without storage (empty directories), interleaved")], details)
