"""3. Submit-to-IP: from SubmitJob to GetJobIP returning an IP, vs. a bare Pod's podIP.

Figure: one job's time from sending SubmitJob to the shim until `GetJobIP?wait=60`
(sent right after the jobId came back) answers with an IP. In between: the shim creates
the DLWSJob; the operator sees it, checks its family, creates its Pod; the scheduler
binds the Pod; kwok runs it and gives it an IP; the operator mirrors the IP into the
job's status; the shim's watch delivers that to the waiting GetJobIP.

Baseline: from sending the create of a bare Pod (one container, the same image and
command, restartPolicy Never) to the API server until its podIP appears in a watch on
the namespace's Pods that this process started beforehand: the scheduler and kwok's
part alone.

Measured at 1 in flight (sequential, the two paths interleaved one job at a time) and
at N in flight (N jobs started at once; each job's own latency counts; rounds alternate
which path goes first, and each starts once the operator is idle). Ratio: shim p50 / bare-Pod p50, and p90 for information.
Goal: p50 ratio <= 1.5 at 1 and at N.

Diagnostic, the floor of any design whose Pod is owned by its DLWSJob (the kill cascade
needs that ownerReference): with the operator stopped, this process creates a DLWSJob
exactly as the shim does, then at once the Pod the operator would make (same name, same
controller ownerReference to the new job's uid), and times until the podIP appears in
the same watch. Nothing of ours runs: no shim, no operator, no status write. It is
measured in its own phase, interleaved with a fresh set of bare Pods (the floor's ratio
is against those), at 1 and at N in flight. Two more floors add, one at a time, what
this architecture needs on top of that:
- the controller's watch hop: the Pod is created only once the new DLWSJob has come
  through a watch on the jobs, as any operator learns of a job (this process's watch
  stands in for the operator's; nothing is done between seeing the job and the create);
- then the status write: the podIP written into the job's status (one status PATCH, as
  the operator writes it) and seen in a watch on the jobs, which is where GetJobIP reads it.
And one floor for a design that would answer GetJobIP from the Pod rather than the job's
status: the watch-hop floor timed to the podIP in the Pod, with the status write that
the operator must still make (the mission asks for the pod's phase and IP in status)
sent then and not waited for. At N in flight its write still competes with the other
jobs for the same two cores. At 1 in flight, that floor once more with the Pod created
by the least kopf operator (bench/kopf_floor.py, its own process) instead of this
process's watch: the mission's framework between a job and its Pod, and nothing else.

At N in flight the floors vary from round to round more than ours does, so they run
more rounds (ip_floor_rounds), each starting once the last round's jobs and pods are
deleted and gone.
"""
from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from kubernetes.aio import client

from bench.client import body, read_json
from bench.context import Context, Measurement
from bench.figures import Figure
from bench.jobs import Family, JobsApi
from bench.kopf_floor import KOPF_KIND
from bench.objects import KIND_LABEL, bare_pod
from bench.processes import kopf_floor_command, wait_idle
from bench.stats import summary_ms
from bench.tracker import Tracker, has_pod_ip, jobs_call, pods_call
from devcluster.managed import ManagedProcess
from devcluster.waiting import until
from dlws_contract import resource
from dlws_contract.kube_api import owner_reference
from dlws_operator.status import status_from_pod

# Seconds of quiet after a round's objects are gone: their watch events, the garbage
# collector's last deletes and Events are still being handled for a moment.
ROUND_SETTLE = 2.0

# A path from a request to an IP, by name: each call times one job on it (seconds).
Timed = tuple[str, Callable[[], Awaitable[float]]]


async def measure(ctx: Context) -> Measurement:
    sizes = ctx.sizes
    n = sizes.ip_in_flight
    async with ctx.namespace("ip") as ns:
        jobs = JobsApi(ctx.api, ns)
        paths = Paths(ctx, jobs, await jobs.make_family("ip-root"))
        await paths.start()
        try:
            ctx.say(f"submit-to-IP: {sizes.ip_sequential} jobs and {sizes.ip_sequential} bare pods, one at a time")
            sequential = await one_at_a_time(paths.ours(), sizes.ip_sequential)
            concurrent, makespan = await ours_in_flight(ctx, paths)
            ctx.say("submit-to-IP: the floor (DLWSJob then its owned Pod), operator stopped")
            ctx.operator.stop()
            try:
                floor_seq = await floors_one_at_a_time(ctx, paths)
                floor_conc, floor_round_p50 = await floors_in_flight(ctx, paths)
            finally:
                await ctx.operator.start_async()
        finally:
            await paths.stop()

    seq = {k: summary_ms(v) for k, v in sequential.items()}
    conc = {k: summary_ms(v) for k, v in concurrent.items()}
    fseq = {k: summary_ms(v) for k, v in floor_seq.items()}
    fconc = {k: summary_ms(v) for k, v in floor_conc.items()}
    details: dict[str, Any] = {"sequential": seq, "in_flight": conc, "in_flight_n": n,
                               "in_flight_makespan_s": makespan, "rounds": sizes.ip_rounds,
                               "floor_sequential": fseq, "floor_in_flight": fconc,
                               "floor_rounds": sizes.ip_floor_rounds, "floor_in_flight_round_p50_ms": floor_round_p50}
    return Measurement(figures(seq, conc, fseq, fconc, n), details)


class Paths:
    """The timed paths on one namespace and its family, through watches started
    beforehand on its Pods (to a podIP), its jobs' IPs in status, and its new jobs."""

    def __init__(self, ctx: Context, jobs: JobsApi, family: Family) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self.family = family
        self.namespace = jobs.namespace
        self.core = client.CoreV1Api(ctx.api)
        self.pods = Tracker(pods_call(ctx.api, self.namespace), match=has_pod_ip, label_selector=KIND_LABEL)
        self.job_ips = Tracker(jobs_call(ctx.api, self.namespace), match=has_pod_ip)
        self.jobs_seen = Tracker(jobs_call(ctx.api, self.namespace), match=lambda _: True)

    async def start(self) -> None:
        for tracker in (self.pods, self.job_ips, self.jobs_seen):
            await tracker.start()

    async def stop(self) -> None:
        for tracker in (self.pods, self.job_ips, self.jobs_seen):
            await tracker.stop()

    def ours(self) -> list[Timed]:
        return [("bare", self.bare), ("shim", self.shim)]

    def floors(self, *, kopf: bool = False) -> list[Timed]:
        """The floors; with kopf, the kopf floor too (its process must be running)."""
        paths: list[Timed] = [("bare", self.bare), ("floor", self.floor),
                              ("floor_watch", partial(self.floor, watch_hop=True)),
                              ("floor_pod_read", self.floor_pod_read), ("floor_status", self.floor_status)]
        if kopf:
            paths.insert(-1, ("floor_kopf", partial(self.floor_pod_read, kopf=True)))
        return paths

    async def bare(self) -> float:
        name = f"bare-{uuid.uuid4().hex[:12]}"
        start = time.perf_counter()
        await read_json(await self.core.create_namespaced_pod_without_preload_content(
            self.namespace, body(bare_pod(name, {KIND_LABEL: "bare"})), _request_timeout=60.0))
        return await self.pods.matched_at(name, 120.0) - start

    async def shim(self) -> float:
        start = time.perf_counter()
        job_id = await self.ctx.shim.submit(self.family)
        await self.ctx.shim.job_ip(self.family, job_id, wait=60)
        return time.perf_counter() - start

    async def owned_pod_up(self, *, watch_hop: bool, kopf: bool = False) -> tuple[str, float]:
        """A DLWSJob as the shim makes it, then its Pod as the operator would make it: at
        once, or once the job came through the jobs watch (`watch_hop`), or by the kopf
        floor's process (`kopf`, which labels the job for it). Returns the job's name and
        when the Pod's podIP was seen."""
        job_body = self.jobs.child_body(self.family, self.family.root)
        if kopf:
            job_body["metadata"].setdefault("labels", {})[KIND_LABEL] = KOPF_KIND
        job = await self.jobs.create(job_body, timeout=60.0)
        name = job["metadata"]["name"]
        if watch_hop:
            await self.jobs_seen.matched_at(name, 120.0)
        if not kopf:
            pod = bare_pod(resource.pod_name(name), {KIND_LABEL: "floor"}, owner=owner_reference(job))
            await read_json(await self.core.create_namespaced_pod_without_preload_content(
                self.namespace, body(pod), _request_timeout=60.0))
        return name, await self.pods.matched_at(resource.pod_name(name), 120.0)

    async def floor(self, *, watch_hop: bool = False) -> float:
        start = time.perf_counter()
        _, ip_seen = await self.owned_pod_up(watch_hop=watch_hop)
        return ip_seen - start

    async def floor_status(self) -> float:
        start = time.perf_counter()
        name, _ = await self.owned_pod_up(watch_hop=True)
        await self.jobs.patch_status(name, running_status(name))
        return await self.job_ips.matched_at(name, 120.0) - start

    async def floor_pod_read(self, *, kopf: bool = False) -> float:
        start = time.perf_counter()
        name, ip_seen = await self.owned_pod_up(watch_hop=not kopf, kopf=kopf)
        await self.jobs.patch_status(name, running_status(name))
        return ip_seen - start


async def one_at_a_time(paths: list[Timed], samples: int) -> dict[str, list[float]]:
    """`samples` jobs of each path, one at a time, the paths interleaved: each round
    alternates which goes first, and the first round only warms up."""
    took: dict[str, list[float]] = {name: [] for name, _ in paths}
    for i in range(samples + 1):
        for name, fn in (paths if i % 2 == 0 else paths[::-1]):
            seconds = await fn()
            if i > 0:
                took[name].append(seconds)
    return took


async def ours_in_flight(ctx: Context, paths: Paths) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Rounds of N jobs at once on each of ours and the bare path, each once the operator
    is idle; every job's own time, and each path's summed makespan."""
    n = ctx.sizes.ip_in_flight
    took: dict[str, list[float]] = {"bare": [], "shim": []}
    makespan: dict[str, float] = {"bare": 0.0, "shim": 0.0}
    order = paths.ours()
    for r in range(ctx.sizes.ip_rounds):
        for name, fn in (order if r % 2 == 0 else order[::-1]):
            await wait_idle(ctx.operator.pid, ctx.sizes.measurement_timeout)
            ctx.say(f"submit-to-IP: round {r + 1}, {n} {name} at once")
            start = time.perf_counter()
            took[name].extend(await asyncio.gather(*(fn() for _ in range(n))))
            makespan[name] += time.perf_counter() - start
    return took, makespan


async def floors_one_at_a_time(ctx: Context, paths: Paths) -> dict[str, list[float]]:
    """The floors one at a time, the kopf floor among them: at 1 in flight only, since a
    process of its own would add its watch to the others' load at N in flight, and one in
    flight is where the goal needs it (docs/benchmarks.md)."""
    kopf_floor = ManagedProcess(kopf_floor_command(ctx.operator_kubeconfig, paths.namespace), log_dir=ctx.logs)
    await kopf_floor.start_async()
    try:
        return await one_at_a_time(paths.floors(kopf=True), ctx.sizes.ip_sequential)
    finally:
        kopf_floor.stop()


async def floors_in_flight(ctx: Context, paths: Paths) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Rounds of N jobs at once on each floor, each on a namespace cleared of the last
    round's jobs and pods; every job's own time, and each round's p50 (ms)."""
    sizes = ctx.sizes
    n = sizes.ip_in_flight
    floor_paths = paths.floors()
    took: dict[str, list[float]] = {name: [] for name, _ in floor_paths}
    round_p50: dict[str, list[float]] = {name: [] for name, _ in floor_paths}
    for r in range(sizes.ip_floor_rounds):
        ctx.say(f"submit-to-IP: floors, round {r + 1} of {sizes.ip_floor_rounds}, {n} of each at once")
        for name, fn in (floor_paths if r % 2 == 0 else floor_paths[::-1]):
            await clear_round(paths.jobs, paths.core, keep=resource.pod_name(paths.family.root.name),
                              timeout=sizes.measurement_timeout)
            took_all = await asyncio.gather(*(fn() for _ in range(n)))
            took[name].extend(took_all)
            round_p50[name].append(round(1000 * statistics.median(took_all), 1))
    return took, round_p50


def figures(seq: dict[str, dict[str, float]], conc: dict[str, dict[str, float]],
            fseq: dict[str, dict[str, float]], fconc: dict[str, dict[str, float]], n: int) -> list[Figure]:
    base = "bare Pod create → podIP in a watch"
    return [
        Figure("submit_to_ip.1.p50", "Submit-to-IP p50, 1 in flight", "ms", seq["shim"]["p50_ms"],
               seq["bare"]["p50_ms"], "ratio<=", 1.5, base),
        Figure("submit_to_ip.1.p90", "Submit-to-IP p90, 1 in flight", "ms", seq["shim"]["p90_ms"],
               seq["bare"]["p90_ms"], "info", None, base),
        Figure("submit_to_ip.n.p50", f"Submit-to-IP p50, {n} in flight", "ms", conc["shim"]["p50_ms"],
               conc["bare"]["p50_ms"], "ratio<=", 1.5, base),
        Figure("submit_to_ip.n.p90", f"Submit-to-IP p90, {n} in flight", "ms", conc["shim"]["p90_ms"],
               conc["bare"]["p90_ms"], "info", None, base),
        Figure("submit_to_ip.floor.1.p50", "Submit-to-IP floor p50, 1 in flight — diagnostic: DLWSJob create, "
               "then its owned Pod, no shim or operator", "ms", fseq["floor"]["p50_ms"], fseq["bare"]["p50_ms"],
               "info", None, base),
        Figure("submit_to_ip.floor.n.p50", f"Submit-to-IP floor p50, {n} in flight — diagnostic: the same",
               "ms", fconc["floor"]["p50_ms"], fconc["bare"]["p50_ms"], "info", None, base),
        Figure("submit_to_ip.floor_watch.1.p50", "Submit-to-IP floor with the controller's watch hop p50, "
               "1 in flight — diagnostic: the floor, the Pod created once the job came through a watch", "ms",
               fseq["floor_watch"]["p50_ms"], fseq["bare"]["p50_ms"], "info", None, base),
        Figure("submit_to_ip.floor_watch.n.p50", f"Submit-to-IP floor with the controller's watch hop p50, {n} "
               "in flight — diagnostic: the same", "ms", fconc["floor_watch"]["p50_ms"], fconc["bare"]["p50_ms"],
               "info", None, base),
        Figure("submit_to_ip.floor_pod_read.1.p50", "Submit-to-IP floor of GetJobIP reading the Pod p50, 1 in "
               "flight — diagnostic: the watch-hop floor, then the status write sent once the podIP is seen and "
               "not waited for", "ms", fseq["floor_pod_read"]["p50_ms"], fseq["bare"]["p50_ms"], "info", None, base),
        Figure("submit_to_ip.floor_pod_read.n.p50", f"Submit-to-IP floor of GetJobIP reading the Pod p50, {n} in "
               "flight — diagnostic: the same", "ms", fconc["floor_pod_read"]["p50_ms"], fconc["bare"]["p50_ms"],
               "info", None, base),
        Figure("submit_to_ip.floor_kopf.1.p50", "Submit-to-IP floor of a kopf operator p50, 1 in flight — "
               "diagnostic: the floor of GetJobIP reading the Pod, the Pod created by the least kopf operator "
               "(bench/kopf_floor.py) instead of this process", "ms", fseq["floor_kopf"]["p50_ms"],
               fseq["bare"]["p50_ms"], "info", None, base),
        Figure("submit_to_ip.floor_status.1.p50", "Submit-to-IP floor with the watch hop and the status write p50, "
               "1 in flight — diagnostic: that floor, then podIP written into the job's status and seen in a watch",
               "ms", fseq["floor_status"]["p50_ms"], fseq["bare"]["p50_ms"], "info", None, base),
        Figure("submit_to_ip.floor_status.n.p50", f"Submit-to-IP floor with the watch hop and the status write "
               f"p50, {n} in flight — diagnostic: the same", "ms", fconc["floor_status"]["p50_ms"],
               fconc["bare"]["p50_ms"], "info", None, base),
    ]


async def clear_round(jobs: JobsApi, core: client.CoreV1Api, *, keep: str, timeout: float) -> None:
    """Deletes every job and pod the last round made (all but the family root and its
    pod `keep`) and waits until they are gone. A fixed pause left the last round's tail
    (kwok, the scheduler, the garbage collector) in the next round's time, and a round
    left on kwok's nodes takes room the next ones need."""
    await core.delete_collection_namespaced_pod(jobs.namespace, label_selector=KIND_LABEL, grace_period_seconds=0)
    await jobs.custom.delete_collection_namespaced_custom_object(
        resource.GROUP, resource.VERSION, jobs.namespace, resource.PLURAL, label_selector=resource.LABEL_PARENT)

    async def gone() -> bool:
        pods = await read_json(await core.list_namespaced_pod_without_preload_content(jobs.namespace))
        return (all(p["metadata"]["name"] == keep for p in pods["items"])
                and not await jobs.list_jobs(label_selector=resource.LABEL_PARENT))

    await until("the last round's jobs and pods to be gone", gone, timeout=timeout, interval=0.5, max_interval=0.5)
    await asyncio.sleep(ROUND_SETTLE)


def running_status(name: str) -> dict[str, Any]:
    """The status the operator writes for a job whose pod runs (its own builder)."""
    pod = {"metadata": {"name": resource.pod_name(name)},
           "status": {"phase": "Running", "podIP": "10.244.0.1", "startTime": "2026-01-01T00:00:00Z",
                      "conditions": [{"type": "Ready", "status": "True",
                                      "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
    return status_from_pod(pod, now="2026-01-01T00:00:00Z")
