"""Distributed jobs (PSDistJob): what one DLWSJob of many Pods costs over making those
Pods and their headless Service directly.

Real node (`python -m bench --node real`), rounds alternating the two paths in one
namespace, each round's objects gone before the next:
- up: from SubmitJob of a 1+2 PSDistJob (sent from this machine) until a watch on the Pods
  shows all three Running (their containers started). Baseline: a headless Service and
  three bare Pods like the operator's (same image, command under the job's init, hostname
  and subdomain), created directly and at once, until the same watch shows all three Running;
- kill: from KillJob until the last of the three containers exited (terminated, or the Pod
  gone). Baseline: a foreground delete of each of those bare objects at once.
A second baseline tells the operator's path from its Pods' spec: the operator's own Pods
(pod_spec.build_pods, without the owner reference: volumes for /dev/shm, /work, /job and the
hostfile, the token from the family Secret) and its Service, created directly and at once,
timed the same ways. The kubelet starts a Pod with volumes only once it has seen them
mounted, which it checks every 300 ms.

kwok (`python -m bench`): from SubmitJob of a 1+8 PSDistJob until `GetJobIP?wait=60`
answers with every Pod's IP. Baseline: a headless Service and nine bare Pods created
directly and at once, until a watch on the Pods shows all nine with an IP.
"""
from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from typing import Any

from kubernetes.aio import client

from bench.client import JSON, body
from bench.context import Context, Measurement
from bench.figures import Figure
from bench.jobs import Family, JobsApi
from bench.objects import JOB_PARAMS, bare_pod
from bench.real_jobs import SLEEP_CMD, exited, job_params, last_exit, running_root
from bench.stats import summary_ms
from bench.tracker import Tracker, has_pod_ip, pods_call
from devcluster.binaries import JOB_IMAGE
from dlws_contract import resource
from dlws_contract.distributed import members
from dlws_operator.config import OperatorConfig
from dlws_operator.pod_spec import build_pods, build_service, job_command

BASE_LABEL = "bench.dlworkspace.io/distributed"
SMALL = {"cpurequest": "50m", "memorylimit": "128M"}


def _running(pod: JSON) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


def dist_params(num_workers: int, cmd: str, image: str) -> dict[str, Any]:
    return {**job_params(cmd), "image": image, "jobtrainingtype": "PSDistJob", "numps": 1,
            "numpsworker": num_workers, **SMALL}


async def bare_job(core: client.CoreV1Api, ns: str, num_workers: int, *, image: str,
                   command: list[str]) -> list[str]:
    """The baseline: a headless Service and a bare Pod per member, all created at once."""
    name = f"bare-{uuid.uuid4().hex[:8]}"
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {BASE_LABEL: name}},
               "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": {BASE_LABEL: name}}}
    pods = []
    for member in members(1, num_workers):
        pod = bare_pod(member.pod_name(name), {BASE_LABEL: name}, image=image, command=command)
        pod["spec"].update(hostname=member.host, subdomain=name)
        pods.append(pod)
    await asyncio.gather(core.create_namespaced_service(ns, body(service)),
                         *(core.create_namespaced_pod(ns, body(p)) for p in pods))
    return [name] + [p["metadata"]["name"] for p in pods]


async def same_pods(core: client.CoreV1Api, ns: str, family: Family) -> tuple[str, list[str]]:
    """The second baseline: the operator's own Service and Pods for a 1+2 job of the
    family, created directly and at once, owned by nothing."""
    name = f"same-{uuid.uuid4().hex[:8]}"
    job = {"metadata": {"name": name, "namespace": ns, "uid": "none",
                        "labels": {resource.LABEL_PARENT: family.root.name, resource.LABEL_ROOT: family.root.name}},
           "spec": {**dist_params(2, SLEEP_CMD, JOB_IMAGE.ref), "numps": 1, "numpsworker": 2}}
    service, pods = build_service(job), build_pods(job, config=OperatorConfig.from_env())
    for obj in (service, *pods):
        del obj["metadata"]["ownerReferences"]
    await asyncio.gather(core.create_namespaced_service(ns, body(service)),
                         *(core.create_namespaced_pod(ns, body(p)) for p in pods))
    return service["metadata"]["name"], [p["metadata"]["name"] for p in pods]


async def direct(core: client.CoreV1Api, ns: str, made: tuple[str, list[str]], up: Tracker, down: Tracker,
                 start: float, timeout: float) -> tuple[float, float]:
    """Up and kill times of Pods and a Service created directly (`start`: when)."""
    service, pods = made
    took_up = max([await up.matched_at(n, timeout) for n in pods]) - start
    start = time.perf_counter()
    await asyncio.gather(core.delete_namespaced_service(service, ns, propagation_policy="Foreground"),
                         *(core.delete_namespaced_pod(n, ns, propagation_policy="Foreground") for n in pods))
    return took_up, (await last_exit(down, pods, start, timeout))["last_container_exited_s"]


async def real_round(ctx: Context, ns: str, family: Family, up: Tracker, down: Tracker) -> dict[str, float]:
    core, timeout = client.CoreV1Api(ctx.api), ctx.sizes.measurement_timeout
    start = time.perf_counter()
    job = await ctx.shim.submit(family, **dist_params(2, SLEEP_CMD, JOB_IMAGE.ref))
    ours = [m.pod_name(job) for m in members(1, 2)]
    ours_up = max([await up.matched_at(n, timeout) for n in ours]) - start
    start = time.perf_counter()
    await ctx.shim.kill(family, job)
    ours_kill = (await last_exit(down, ours, start, timeout))["last_container_exited_s"]

    start = time.perf_counter()
    service, *bare = await bare_job(core, ns, 2, image=JOB_IMAGE.ref, command=job_command(SLEEP_CMD))
    bare_up, bare_kill = await direct(core, ns, (service, bare), up, down, start, timeout)
    start = time.perf_counter()
    same_up, same_kill = await direct(core, ns, await same_pods(core, ns, family), up, down, start, timeout)
    return {"ours_up_s": ours_up, "bare_up_s": bare_up, "same_up_s": same_up,
            "ours_kill_s": ours_kill, "bare_kill_s": bare_kill, "same_kill_s": same_kill}


async def measure_real(ctx: Context) -> Measurement:
    rounds: list[dict[str, float]] = []
    async with ctx.namespace("real-dist") as ns:
        _, family = await running_root(ctx, ns)
        up = Tracker(pods_call(ctx.api, ns), match=_running)
        down = Tracker(pods_call(ctx.api, ns), match=exited)
        await up.start()
        await down.start()
        try:
            for _ in range(ctx.sizes.dist_rounds):
                rounds.append(await real_round(ctx, ns, family, up, down))
        finally:
            await up.stop()
            await down.stop()

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)
    n = len(rounds)
    figures = [
        Figure("real_node.distributed.up_seconds", f"Real node: SubmitJob of a 1+2 PSDistJob to all three "
               f"containers running, median of {n}", "s", median("ours_up_s"), median("bare_up_s"), "info", None,
               "a headless Service and three bare Pods created directly"),
        Figure("real_node.distributed.kill_seconds", f"Real node: KillJob of a running 1+2 PSDistJob to the "
               f"last container exited, median of {n}", "s", median("ours_kill_s"), median("bare_kill_s"), "info",
               None, "a foreground delete of each of those bare objects"),
        Figure("real_node.distributed.up_to_same_pods_seconds", f"Real node: the same, against the operator's own "
               f"Pods and Service created directly, median of {n}", "s", median("ours_up_s"), median("same_up_s"),
               "info", None, "the operator's Pods (pod_spec.build_pods) and Service, created directly"),
        Figure("real_node.distributed.kill_to_same_pods_seconds", f"Real node: KillJob, against a foreground delete "
               f"of the operator's own Pods and Service created directly, median of {n}", "s",
               median("ours_kill_s"), median("same_kill_s"), "info", None, "a foreground delete of each of them"),
    ]
    return Measurement(figures, {"rounds": rounds})


async def kwok_round(ctx: Context, ns: str, family: Family, pods: Tracker, num_workers: int) -> tuple[float, float]:
    core, timeout = client.CoreV1Api(ctx.api), ctx.sizes.measurement_timeout
    start = time.perf_counter()
    job = await ctx.shim.submit(family, **dist_params(num_workers, JOB_PARAMS["cmd"], JOB_PARAMS["image"]))
    answer = await ctx.shim.call("GetJobIP", family, jobId=job, wait=60)
    ours = time.perf_counter() - start
    if len(answer.get("IPs") or []) != 1 + num_workers or not all(p["IP"] for p in answer["IPs"]):
        raise RuntimeError(f"GetJobIP of {job}: {answer}")
    await ctx.shim.kill(family, job)
    await pods.all_deleted([m.pod_name(job) for m in members(1, num_workers)], timeout)

    start = time.perf_counter()
    service, *bare = await bare_job(core, ns, num_workers, image=JOB_PARAMS["image"],
                                    command=["/bin/sh", "-c", JOB_PARAMS["cmd"]])
    base = max([await pods.matched_at(n, timeout) for n in bare]) - start
    await asyncio.gather(core.delete_namespaced_service(service, ns),
                         *(core.delete_namespaced_pod(n, ns, grace_period_seconds=0) for n in bare))
    await pods.all_deleted(bare, timeout)
    return ours, base


async def measure_kwok(ctx: Context, num_workers: int = 8) -> Measurement:
    ours: list[float] = []
    base: list[float] = []
    async with ctx.namespace("dist") as ns:
        family = await JobsApi(ctx.api, ns).make_family("dist-root")
        pods = Tracker(pods_call(ctx.api, ns), match=has_pod_ip)
        await pods.start()
        try:
            for _ in range(ctx.sizes.dist_rounds * 2):
                o, b = await kwok_round(ctx, ns, family, pods, num_workers)
                ours.append(o)
                base.append(b)
        finally:
            await pods.stop()
    o_ms, b_ms = summary_ms(ours), summary_ms(base)
    figures = [Figure(
        "distributed.submit_to_all_ips.p50", f"kwok: SubmitJob of a 1+{num_workers} PSDistJob to GetJobIP "
        f"answering every Pod's IP, p50 of {len(ours)}", "ms", o_ms["p50_ms"], b_ms["p50_ms"], "info", None,
        f"a headless Service and {1 + num_workers} bare Pods created directly, to all their IPs")]
    assert all(math.isfinite(x) for x in ours + base)
    return Measurement(figures, {"ours_ms": o_ms, "bare_ms": b_ms, "ours_s": ours, "bare_s": base})
