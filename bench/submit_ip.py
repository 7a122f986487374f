"""3. Submit-to-IP: from SubmitJob to GetJobIP returning an IP, against its floor, against
Kubernetes' own Job controller, and against a bare Pod.

Ours: one job's time from sending SubmitJob to the shim until `GetJobIP?wait=60` (sent
right after the jobId came back) answers with an IP. In between: the shim creates the
DLWSJob; the operator sees it, checks its family, creates its Pod; the scheduler binds
the Pod; kwok runs it and gives it an IP; the operator mirrors the IP into the job's
status; the shim's watch delivers that to the waiting GetJobIP.

What it is measured against, every path in the same rounds (below), so that all see the
same load:
- the status-write floor (the goal's): the least any implementation of this design does
  with nothing of ours running: this process creates a DLWSJob exactly as the shim does;
  once the job came through a watch on the jobs (the hop any operator has) it creates the
  Pod the operator would make (same name, controller ownerReference to the job); once the
  podIP shows in a watch on the Pods it writes the operator's status (one status PATCH),
  and the clock stops when that IP shows in the watch on the jobs, where GetJobIP reads
  it. Goal: ours p50 <= 1.15 x this floor's p50, at 1 and at N in flight.
- the peer: Kubernetes' own Job controller (kube-controller-manager running only
  `job-controller`, started by the benchmark for this measurement, bench/processes.py)
  turning a batch/v1 Job of one Pod (the bare Pod's spec as its template) into a Pod
  with a podIP, from sending the Job's create until that podIP shows in the watch on the
  Pods: what a user would otherwise pick. Goals: ours p50 <= 1.3 x its p50 at 1 in
  flight, <= 1.0 x at N.
- the absolute reference: a bare Pod (one container, the same image and command,
  restartPolicy Never), from sending its create until its podIP shows in the watch on
  the Pods: the scheduler and kwok's part alone.

Diagnostics, the same floor cut shorter, to tell apart what each step costs:
- floor: the DLWSJob create, then at once its owned Pod (no watch hop, no status write);
- floor_watch: the Pod created once the job came through the jobs watch;
- floor_pod_read: floor_watch timed to the podIP in the Pod, with the status write sent
  then and not waited for (the floor of a design whose GetJobIP would read the Pod);
- floor_kopf (1 in flight only): floor_pod_read with the Pod created by the least kopf
  operator (bench/kopf_floor.py, a process of its own) instead of this process's watch.

The floors need the operator not to see their jobs, which it would handle too. So while
this measurement runs the operator watches only ours' namespace (its --namespace flag,
restarted so; cluster-wide again afterwards), and every other path works in a second
namespace, whose family root the cluster-wide operator made first. The shim watches the
whole cluster as always.

1 in flight: the paths interleaved one job at a time, each round alternating the order;
the first round only warms up. N in flight: rounds in which each path in turn starts N
jobs at once (each job's own latency counts), the order alternating between rounds; each
path's turn starts once the last turn's jobs and pods are deleted and gone and the
operator and the Job controller are idle (the latter handles the deletes of the Job
path's Pods, whose finalizer it removes). p50 pooled over every round's jobs; each round's own p50 is in
results.json. Ratio: ours p50 / the other path's p50 (p90 for information).
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
from bench.objects import KIND_LABEL, bare_pod, batch_job, job_of_pod
from bench.processes import (SelfSignedProcess, job_controller_command, kopf_floor_command, namespaced,
                             wait_idle)
from bench.stats import summary_ms
from bench.tracker import Tracker, has_pod_ip, jobs_call, pods_call
from devcluster.managed import ManagedProcess
from devcluster.waiting import until
from dlws_contract import resource
from dlws_contract.kube_api import owner_reference
from dlws_operator.status import status_from_pod

# Seconds of quiet after a turn's objects are gone: their watch events, the garbage
# collector's last deletes and Events are still being handled for a moment.
ROUND_SETTLE = 2.0

# A path from a request to an IP, by name: each call times one job on it (seconds).
Timed = tuple[str, Callable[[], Awaitable[float]]]

# The paths at N in flight, and at 1 in flight (where the kopf floor joins them).
IN_FLIGHT = ("bare", "shim", "job", "floor_status", "floor_pod_read", "floor_watch", "floor")
ONE_AT_A_TIME = (*IN_FLIGHT, "floor_kopf")


async def measure(ctx: Context) -> Measurement:
    sizes = ctx.sizes
    n = sizes.ip_in_flight
    async with ctx.namespace("ip") as ours_ns, ctx.namespace("ipbase") as base_ns:
        ours, base = JobsApi(ctx.api, ours_ns), JobsApi(ctx.api, base_ns)
        # Both families by the cluster-wide operator, before it watches ours' namespace alone.
        families = await ours.make_family("ip-root"), await base.make_family("floor-root")
        ctx.operator.stop()
        operator = ManagedProcess(namespaced(ctx.operator.command, ours_ns), log_dir=ctx.logs)
        job_controller = SelfSignedProcess(await asyncio.to_thread(job_controller_command, ctx.kubeconfig),
                                           log_dir=ctx.logs)
        paths = Paths(ctx, ours, base, *families)
        try:
            await operator.start_async()
            await job_controller.start_async()
            await paths.start()
            kopf_floor = ManagedProcess(kopf_floor_command(ctx.operator_kubeconfig, base_ns), log_dir=ctx.logs)
            await kopf_floor.start_async()
            try:
                ctx.say(f"submit-to-IP: {sizes.ip_sequential} jobs of each of {len(ONE_AT_A_TIME)} paths, "
                        "one at a time")
                sequential = await one_at_a_time(paths.named(ONE_AT_A_TIME), sizes.ip_sequential)
            finally:
                kopf_floor.stop()
            concurrent, round_p50 = await in_flight(ctx, paths, [operator, job_controller])
        finally:
            await paths.stop()
            job_controller.stop()
            operator.stop()
            await ctx.operator.start_async()

    seq = {k: summary_ms(v) for k, v in sequential.items()}
    conc = {k: summary_ms(v) for k, v in concurrent.items()}
    details: dict[str, Any] = {"sequential": seq, "in_flight": conc, "in_flight_n": n, "rounds": sizes.ip_rounds,
                               "in_flight_round_p50_ms": round_p50,
                               "in_flight_round_ratio_to_floor": round_ratios(round_p50, "floor_status"),
                               "in_flight_round_ratio_to_job_controller": round_ratios(round_p50, "job")}
    return Measurement(figures(seq, conc, n), details)


def round_ratios(round_p50: dict[str, list[float]], baseline: str) -> list[float]:
    """Ours' p50 over the other path's p50, round by round."""
    return [round(ours / other, 3) for ours, other in zip(round_p50["shim"], round_p50[baseline])]


class Paths:
    """The timed paths: ours on its namespace and family; the others on a second
    namespace and family, through watches started beforehand on its Pods (to a podIP,
    a Job's Pod known by its Job's name), its jobs' IPs in status, and its new jobs."""

    def __init__(self, ctx: Context, ours: JobsApi, base: JobsApi, ours_family: Family, family: Family) -> None:
        self.ctx = ctx
        self.ours = ours
        self.ours_family = ours_family
        self.jobs = base
        self.family = family
        self.namespace = base.namespace
        self.core = client.CoreV1Api(ctx.api)
        self.batch = client.BatchV1Api(ctx.api)
        self.pods = Tracker(pods_call(ctx.api, self.namespace), match=has_pod_ip, key=job_of_pod,
                            label_selector=KIND_LABEL)
        self.job_ips = Tracker(jobs_call(ctx.api, self.namespace), match=has_pod_ip)
        self.jobs_seen = Tracker(jobs_call(ctx.api, self.namespace), match=lambda _: True)

    async def start(self) -> None:
        for tracker in (self.pods, self.job_ips, self.jobs_seen):
            await tracker.start()

    async def stop(self) -> None:
        for tracker in (self.pods, self.job_ips, self.jobs_seen):
            await tracker.stop()

    def named(self, names: tuple[str, ...]) -> list[Timed]:
        every: dict[str, Callable[[], Awaitable[float]]] = {
            "bare": self.bare, "shim": self.shim, "job": self.batch_job, "floor": self.floor,
            "floor_watch": partial(self.floor, watch_hop=True), "floor_pod_read": self.floor_pod_read,
            "floor_kopf": partial(self.floor_pod_read, kopf=True), "floor_status": self.floor_status}
        return [(name, every[name]) for name in names]

    async def bare(self) -> float:
        name = f"bare-{uuid.uuid4().hex[:12]}"
        start = time.perf_counter()
        await read_json(await self.core.create_namespaced_pod_without_preload_content(
            self.namespace, body(bare_pod(name, {KIND_LABEL: "bare"})), _request_timeout=60.0))
        return await self.pods.matched_at(name, 120.0) - start

    async def batch_job(self) -> float:
        name = f"job-{uuid.uuid4().hex[:12]}"
        start = time.perf_counter()
        await read_json(await self.batch.create_namespaced_job_without_preload_content(
            self.namespace, body(batch_job(name, {KIND_LABEL: "job"})), _request_timeout=60.0))
        return await self.pods.matched_at(name, 120.0) - start

    async def shim(self) -> float:
        start = time.perf_counter()
        job_id = await self.ctx.shim.submit(self.ours_family)
        await self.ctx.shim.job_ip(self.ours_family, job_id, wait=60)
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

    async def clear(self, timeout: float) -> None:
        """Deletes every job and pod the last turn made, in both namespaces (all but the
        family roots and their pods), and waits until they are gone. A fixed pause left
        the last turn's tail (kwok, the scheduler, the garbage collector) in the next
        turn's time, and pods left on kwok's nodes take room the next ones need."""
        for jobs in (self.ours, self.jobs):
            await jobs.custom.delete_collection_namespaced_custom_object(
                resource.GROUP, resource.VERSION, jobs.namespace, resource.PLURAL,
                label_selector=resource.LABEL_PARENT)
        await self.batch.delete_collection_namespaced_job(self.namespace, label_selector=KIND_LABEL,
                                                          propagation_policy="Background")
        await self.core.delete_collection_namespaced_pod(self.namespace, label_selector=KIND_LABEL,
                                                         grace_period_seconds=0)
        roots = {resource.pod_name(self.family.root.name), resource.pod_name(self.ours_family.root.name)}

        async def gone() -> bool:
            for jobs in (self.ours, self.jobs):
                pods = await read_json(await self.core.list_namespaced_pod_without_preload_content(jobs.namespace))
                if any(p["metadata"]["name"] not in roots for p in pods["items"]) or \
                        await jobs.list_jobs(label_selector=resource.LABEL_PARENT):
                    return False
            batch_jobs = await read_json(await self.batch.list_namespaced_job_without_preload_content(
                self.namespace, limit=1))
            return not batch_jobs["items"]

        await until("the last turn's jobs and pods to be gone", gone, timeout=timeout, interval=0.5,
                    max_interval=0.5)
        await asyncio.sleep(ROUND_SETTLE)


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


async def in_flight(ctx: Context, paths: Paths, controllers: list[ManagedProcess]
                    ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Rounds in which each path in turn starts N jobs at once, each turn on namespaces
    cleared of the last turn's jobs and pods and with the controllers (the operator, the
    Job controller) idle; every job's own time, and each turn's p50 (ms)."""
    sizes = ctx.sizes
    n = sizes.ip_in_flight
    order = paths.named(IN_FLIGHT)
    took: dict[str, list[float]] = {name: [] for name, _ in order}
    round_p50: dict[str, list[float]] = {name: [] for name, _ in order}
    for r in range(sizes.ip_rounds):
        ctx.say(f"submit-to-IP: round {r + 1} of {sizes.ip_rounds}, {n} at once on each of {len(order)} paths")
        for name, fn in (order if r % 2 == 0 else order[::-1]):
            await paths.clear(sizes.measurement_timeout)
            for controller in controllers:
                await wait_idle(controller.pid, sizes.measurement_timeout)
            took_all = await asyncio.gather(*(fn() for _ in range(n)))
            took[name].extend(took_all)
            round_p50[name].append(round(1000 * statistics.median(took_all), 1))
    return took, round_p50


BARE = "bare Pod create → podIP in a watch"
FLOOR = "status-write floor: DLWSJob create, watch hop, owned Pod, podIP written into status, seen in a watch"
JOB_CONTROLLER = "Kubernetes' Job controller: batch/v1 Job create → its Pod's podIP in a watch"
# The diagnostic floors: what each leaves out of the status-write floor.
DIAGNOSTICS = {
    "floor": ("Submit-to-IP floor", "DLWSJob create, then at once its owned Pod, nothing of ours"),
    "floor_watch": ("Submit-to-IP floor with the controller's watch hop",
                    "the Pod created once the job came through a watch"),
    "floor_pod_read": ("Submit-to-IP floor of GetJobIP reading the Pod",
                       "the watch-hop floor, then the status write sent once the podIP is seen and not waited for"),
    "floor_kopf": ("Submit-to-IP floor of a kopf operator",
                   "the floor of GetJobIP reading the Pod, the Pod created by the least kopf operator "
                   "(bench/kopf_floor.py) instead of this process"),
    "floor_status": ("Submit-to-IP status-write floor", "the floor the goal is against, here against bare Pods"),
}


def figures(seq: dict[str, dict[str, float]], conc: dict[str, dict[str, float]], n: int) -> list[Figure]:
    found: list[Figure] = []
    for at, runs, job_goal in (("1", seq, 1.3), ("n", conc, 1.0)):
        where = "1 in flight" if at == "1" else f"{n} in flight"
        p50 = {name: s["p50_ms"] for name, s in runs.items()}
        found += [
            Figure(f"submit_to_ip.{at}.p50_to_floor", f"Submit-to-IP p50, {where}, against its floor", "ms",
                   p50["shim"], p50["floor_status"], "ratio<=", 1.15, FLOOR),
            Figure(f"submit_to_ip.{at}.p50_to_job_controller",
                   f"Submit-to-IP p50, {where}, against Kubernetes' Job controller", "ms",
                   p50["shim"], p50["job"], "ratio<=", job_goal, JOB_CONTROLLER),
            Figure(f"submit_to_ip.{at}.p50", f"Submit-to-IP p50, {where}", "ms", p50["shim"], p50["bare"],
                   "info", None, BARE, note="the absolute reference (issue 6's goal: ratio <= 1.5)"),
            Figure(f"submit_to_ip.{at}.p90", f"Submit-to-IP p90, {where}", "ms", runs["shim"]["p90_ms"],
                   runs["bare"]["p90_ms"], "info", None, BARE),
            Figure(f"submit_to_ip.job.{at}.p50", f"Kubernetes' Job controller p50, {where}", "ms", p50["job"],
                   p50["bare"], "info", None, BARE, note="the peer against the same bare Pods"),
        ]
        for name, (title, what) in DIAGNOSTICS.items():
            if name in runs:
                found.append(Figure(f"submit_to_ip.{name}.{at}.p50", f"{title} p50, {where}", "ms", p50[name],
                                    p50["bare"], "info", None, BARE, note=f"diagnostic: {what}"))
    return found


def running_status(name: str) -> dict[str, Any]:
    """The status the operator writes for a job whose pod runs (its own builder)."""
    pod = {"metadata": {"name": resource.pod_name(name)},
           "status": {"phase": "Running", "podIP": "10.244.0.1", "startTime": "2026-01-01T00:00:00Z",
                      "conditions": [{"type": "Ready", "status": "True",
                                      "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
    return status_from_pod(pod, now="2026-01-01T00:00:00Z")
