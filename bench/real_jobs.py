"""Jobs on a real node (`python -m bench --node real`): what real containers cost.

1. Submit to answer. A driver runs inside the root job's container (one `kubectl exec`
   session for the whole measurement); per sample it calls SubmitJob for a child whose cmd
   serves HTTP on its interactive port, GetJobIP (wait), then GETs the child's port until
   it answers. Baseline, interleaved sample by sample: the benchmark creates a bare Pod
   running the same server (same image, same command under the same init, same port) and,
   as soon as a watch shows its IP, the same driver polls it. Both clocks run on the
   benchmark's side from the request (SubmitJob sent / Pod create sent) to the driver's
   answer, each with one command to the driver and one reply. Every child or Pod is
   deleted, and gone, before the next sample.
2. Kill of a 3-level family: a job with C children and G grandchildren in all (30 jobs),
   every container running `sleep 3600`. Time from KillJob to the last of the 30 containers
   exited (a watch on the namespace's Pods: the kubelet reports the container terminated,
   or the Pod is gone, whichever comes first). Baseline: the same tree of bare Pods, each
   owned by a ConfigMap in a ConfigMap tree of the same shape, killed by a foreground delete
   of the top ConfigMap. Rounds alternate. Once more, for the grace period's effect: the
   same bare tree whose containers run `/bin/sh -c 'sleep 3600'` as PID 1 without the
   job's init, which ignores SIGTERM until the kubelet's SIGKILL after 30 s.
3. The kubelet's floor under a kill race, with nothing of ours: bare Pods deleted 0.2 to
   1.5 s after their create, before their containers run. Each container's first act is
   to report its start, with this machine's clock, to a collector Pod; how many still
   started, and how long after their delete returned (the kubelet does not give up a
   sync under way). docs/reliability.md compares KillJob racing SubmitJob
   (tests/e2e/test_kill_race_real.py) with this floor.
"""
from __future__ import annotations

import asyncio
import json
import math
import re
import statistics
import time
import uuid
from collections.abc import Mapping
from typing import Any

from kubernetes.aio import client

from bench.context import Context, Measurement
from bench.figures import Figure
from bench.client import JSON, body
from bench.jobs import Family, JobsApi
from bench.objects import bare_pod, configmap_owner
from bench.stats import summary_ms
from bench.tracker import Tracker, configmaps_call, has_pod_ip, pods_call
from devcluster.binaries import JOB_IMAGE
from dlws_operator.pod_spec import job_command

SERVER_PORT = 8080
SERVER_CMD = f"exec python3 -m http.server {SERVER_PORT}"
SLEEP_CMD = "sleep 3600"
TREE_LABEL = "bench.dlworkspace.io/tree"
# In the root's container: reads one command per line, answers one JSON line per command.
DRIVER = """
import json, os, sys, time, requests
api, token = os.environ["DLWS_REST_API"] + "child/", os.environ["FAMILY_TOKEN"]
shim = requests.Session()
def call(op, **params):
    return shim.get(api + op, params={**params, "familyToken": token}, timeout=90).json()
def answer(ip, port, deadline):
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://{ip}:{port}/", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.01)
    raise TimeoutError(f"{ip}:{port} did not answer")
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    command = json.loads(line)
    deadline = time.monotonic() + 120
    if command["op"] == "submit":
        job = call("SubmitJob", **command["params"])["jobId"]
        reply = {}
        while "IP" not in reply and time.monotonic() < deadline:
            reply = call("GetJobIP", jobId=job, wait=60)
        answer(reply["IP"], command["port"], deadline)
        print(json.dumps({"jobId": job, "ip": reply["IP"]}), flush=True)
    else:
        answer(command["ip"], command["port"], deadline)
        print(json.dumps({}), flush=True)
"""

# 3. The collector (prints every report POSTed to it) and a bare Pod's container, which
# reports its start with this machine's clock as its first act, then waits to be killed.
COLLECTOR_PORT = 7000
COLLECTOR = f"""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Collect(BaseHTTPRequestHandler):
    def do_POST(self):
        print("REPORT", self.rfile.read(int(self.headers["Content-Length"])).decode(), flush=True)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("0.0.0.0", {COLLECTOR_PORT}), Collect).serve_forever()
"""
STARTED = """
import os, time, urllib.request
report = f"STARTED {time.time()!r} {os.environ['POD_NAME']}".encode()
urllib.request.urlopen(os.environ["REPORT_TO"], data=report, timeout=10).read()
time.sleep(3600)
"""
# Seconds from a bare Pod's create to its delete, each twice.
FLOOR_DELAYS = (0.2, 0.5, 1.0, 1.5) * 2


def job_params(cmd: str, **extra: str) -> dict[str, str]:
    return {"jobName": "bench", "resourcegpu": "0", "dataPath": "d", "image": JOB_IMAGE.ref,
            "jobType": "training", "cmd": cmd, **extra}


class Driver:
    """The driver program in the root's container, over `kubectl exec -i`."""

    def __init__(self, ctx: Context, namespace: str, pod: str) -> None:
        self.argv = [str(ctx.kubectl), f"--kubeconfig={ctx.kubeconfig}", "exec", "-i", "-n", namespace, pod,
                     "--", "python3", "-u", "-c", DRIVER]
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        await self._reply()

    async def ask(self, command: Mapping[str, Any]) -> JSON:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self.proc.stdin.drain()
        return await self._reply()

    async def _reply(self) -> JSON:
        assert self.proc is not None and self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 180)
        if not line:
            raise RuntimeError("the driver in the root's container ended")
        return dict(json.loads(line))

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            await asyncio.wait_for(self.proc.wait(), 30)


async def running_root(ctx: Context, namespace: str) -> tuple[JobsApi, Family]:
    jobs = JobsApi(ctx.api, namespace, job_params(SLEEP_CMD))
    family = await jobs.make_family(f"bench-root-{uuid.uuid4().hex[:6]}")
    pods = Tracker(pods_call(ctx.api, namespace), match=lambda p: _phase(p) == "Running")
    await pods.start()
    await pods.matched_at(family.root.name, ctx.sizes.measurement_timeout)
    await pods.stop()
    return jobs, family


def _phase(pod: JSON) -> str:
    return str((pod.get("status") or {}).get("phase"))


async def submit_to_answer(ctx: Context) -> dict[str, Any]:
    ours: list[float] = []
    bare: list[float] = []
    async with ctx.namespace("real-ip") as ns:
        _, family = await running_root(ctx, ns)
        core = client.CoreV1Api(ctx.api)
        pods = Tracker(pods_call(ctx.api, ns), match=has_pod_ip)
        await pods.start()
        driver = Driver(ctx, ns, family.root.name)
        await driver.start()
        try:
            for _ in range(ctx.sizes.real_answer_samples):
                start = time.perf_counter()
                got = await driver.ask({"op": "submit", "port": SERVER_PORT,
                                        "params": job_params(SERVER_CMD, interactivePort=str(SERVER_PORT))})
                ours.append(time.perf_counter() - start)
                await ctx.shim.kill(family, got["jobId"])
                await pods.all_deleted([got["jobId"]], ctx.sizes.measurement_timeout)

                name = f"bare-{uuid.uuid4().hex[:8]}"
                start = time.perf_counter()
                await core.create_namespaced_pod(ns, body(bare_pod(
                    name, {TREE_LABEL: "ip"}, image=JOB_IMAGE.ref, command=job_command(SERVER_CMD),
                    port=SERVER_PORT)))
                await pods.matched_at(name, ctx.sizes.measurement_timeout)
                pod = await core.read_namespaced_pod(name, ns)
                assert pod.status is not None
                await driver.ask({"op": "poll", "ip": pod.status.pod_ip, "port": SERVER_PORT})
                bare.append(time.perf_counter() - start)
                await core.delete_namespaced_pod(name, ns)
                await pods.all_deleted([name], ctx.sizes.measurement_timeout)
        finally:
            await driver.stop()
            await pods.stop()
    return {"ours_ms": summary_ms(ours), "bare_pod_ms": summary_ms(bare),
            "ours_s": ours, "bare_pod_s": bare}


def tree_shape(ctx: Context) -> list[int]:
    """How many grandchildren each child gets: G spread over C children."""
    c, g = ctx.sizes.real_kill_children, ctx.sizes.real_kill_grandchildren
    return [g // c + (1 if i < g % c else 0) for i in range(c)]


def exited(pod: JSON) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all((s.get("state") or {}).get("terminated") for s in statuses)


async def last_exit(pods: Tracker, names: list[str], start: float, timeout: float) -> dict[str, float]:
    """Seconds from start until the last of these pods' containers exited (terminated, or
    the pod gone), and until the last pod was gone."""
    await pods.all_deleted(names, timeout)
    exits = [min(pods.matched.get(n, math.inf), pods.deleted[n]) for n in names]
    return {"last_container_exited_s": max(exits) - start,
            "last_pod_gone_s": max(pods.deleted[n] for n in names) - start}


async def kill_family(ctx: Context) -> dict[str, float]:
    async with ctx.namespace("real-kill") as ns:
        _, family = await running_root(ctx, ns)
        pods = Tracker(pods_call(ctx.api, ns), match=exited)
        running = Tracker(pods_call(ctx.api, ns), match=lambda p: _phase(p) == "Running")
        await pods.start()
        await running.start()
        try:
            params = job_params(SLEEP_CMD)
            top = await ctx.shim.submit(family, **params, parentJobId=family.root.name)
            children = [await ctx.shim.submit(family, **params, parentJobId=top) for _ in tree_shape(ctx)]
            names = [top, *children]
            for child, count in zip(children, tree_shape(ctx)):
                names += [await ctx.shim.submit(family, **params, parentJobId=child) for _ in range(count)]
            await running.wait_matched(len(names) + 1, ctx.sizes.measurement_timeout)
            start = time.perf_counter()
            await ctx.shim.kill(family, top)
            return await last_exit(pods, names, start, ctx.sizes.measurement_timeout)
        finally:
            await pods.stop()
            await running.stop()


async def kill_bare_tree(ctx: Context, command: list[str]) -> dict[str, float]:
    async with ctx.namespace("real-gc") as ns:
        core = client.CoreV1Api(ctx.api)
        pods = Tracker(pods_call(ctx.api, ns), match=exited)
        running = Tracker(pods_call(ctx.api, ns), match=lambda p: _phase(p) == "Running")
        owners = Tracker(configmaps_call(ctx.api, ns))
        for tracker in (pods, running, owners):
            await tracker.start()
        try:
            async def owner(name: str, parent: JSON | None) -> JSON:
                meta: JSON = {"name": name, "labels": {TREE_LABEL: "gc"}}
                if parent is not None:
                    meta["ownerReferences"] = [configmap_owner(parent)]
                made = await core.create_namespaced_config_map(ns, body({"metadata": meta}))
                assert made.metadata is not None
                cm: JSON = {"metadata": {"name": made.metadata.name, "uid": made.metadata.uid}}
                await core.create_namespaced_pod(ns, body(bare_pod(
                    name, {TREE_LABEL: "gc"}, configmap_owner(cm), image=JOB_IMAGE.ref,
                    command=command)))
                return cm

            top = await owner("top", None)
            children = [await owner(f"child-{i}", top) for i in range(len(tree_shape(ctx)))]
            names = ["top", *(c["metadata"]["name"] for c in children)]
            for i, (child, count) in enumerate(zip(children, tree_shape(ctx))):
                for j in range(count):
                    names.append((await owner(f"grandchild-{i}-{j}", child))["metadata"]["name"])
            await running.wait_matched(len(names), ctx.sizes.measurement_timeout)
            start = time.perf_counter()
            await core.delete_namespaced_config_map("top", ns, propagation_policy="Foreground")
            return await last_exit(pods, names, start, ctx.sizes.measurement_timeout)
        finally:
            for tracker in (pods, running, owners):
                await tracker.stop()


async def kubelet_floor(ctx: Context) -> dict[str, Any]:
    timeout = ctx.sizes.measurement_timeout
    deleted: dict[str, float] = {}
    async with ctx.namespace("real-floor") as ns:
        core = client.CoreV1Api(ctx.api)
        pods = Tracker(pods_call(ctx.api, ns), match=has_pod_ip)
        await pods.start()
        try:
            await core.create_namespaced_pod(ns, body(bare_pod(
                "collector", {TREE_LABEL: "floor"}, image=JOB_IMAGE.ref,
                command=["python3", "-u", "-c", COLLECTOR], port=COLLECTOR_PORT)))
            await pods.matched_at("collector", timeout)
            collector = await core.read_namespaced_pod("collector", ns)
            assert collector.status is not None
            report_to = f"http://{collector.status.pod_ip}:{COLLECTOR_PORT}/"

            async def create_then_delete(name: str, delay: float) -> None:
                pod = bare_pod(name, {TREE_LABEL: "floor"}, image=JOB_IMAGE.ref, command=["python3", "-c", STARTED])
                pod["spec"]["containers"][0]["env"] = [{"name": "POD_NAME", "value": name},
                                                       {"name": "REPORT_TO", "value": report_to}]
                await core.create_namespaced_pod(ns, body(pod))
                await asyncio.sleep(delay)
                await core.delete_namespaced_pod(name, ns)
                deleted[name] = time.time()
            await asyncio.gather(*(create_then_delete(f"bare-{i}", d) for i, d in enumerate(FLOOR_DELAYS)))
            await pods.all_deleted(deleted, timeout)
            log = str(await core.read_namespaced_pod_log("collector", ns))
        finally:
            await pods.stop()
    started = {m.group(2): float(m.group(1)) for m in re.finditer(r"^REPORT STARTED (\S+) (\S+)$", log, re.M)}
    after = sorted(started[p] - deleted[p] for p in deleted if p in started and started[p] > deleted[p])
    return {"pods": len(FLOOR_DELAYS), "delays_s": list(FLOOR_DELAYS),
            "containers_started": len(started.keys() & deleted.keys()),
            "started_after_delete": len(after), "started_after_delete_s": after}


async def measure(ctx: Context) -> Measurement:
    answer = await submit_to_answer(ctx)
    ours: list[dict[str, float]] = []
    bare: list[dict[str, float]] = []
    for _ in range(ctx.sizes.real_kill_rounds):
        ours.append(await kill_family(ctx))
        bare.append(await kill_bare_tree(ctx, job_command(SLEEP_CMD)))
    grace = await kill_bare_tree(ctx, ["/bin/sh", "-c", SLEEP_CMD])
    floor = await kubelet_floor(ctx)
    size = 1 + sum(tree_shape(ctx)) + len(tree_shape(ctx))

    def median(runs: list[dict[str, float]]) -> float:
        return statistics.median(r["last_container_exited_s"] for r in runs)

    details = {"submit_to_answer": answer, "kill": {"jobs": size, "killjob": ours, "bare_tree": bare,
                                                    "bare_tree_without_init": grace},
               "kubelet_floor": floor}
    n = ctx.sizes.real_answer_samples
    figures = [
        Figure("real_node.submit_to_answer.p50", f"Real node: SubmitJob in a job's container to the child "
               f"answering on its port, p50 of {n}", "ms", answer["ours_ms"]["p50_ms"], answer["bare_pod_ms"]["p50_ms"],
               "info", None, "bare Pod with the same server, polled from the same container"),
        Figure("real_node.kill.seconds", f"Real node: KillJob of a 3-level family of {size} running jobs to the "
               f"last container exited, median of {len(ours)}", "s", median(ours), median(bare), "info", None,
               "foreground delete of the same tree of bare Pods owned by ConfigMaps"),
        Figure("real_node.kill.without_init_seconds", f"Real node: the same bare tree whose PID 1 ignores "
               "SIGTERM (no job init), to the last container exited", "s", grace["last_container_exited_s"],
               median(bare), "info", None, "the same tree with the job's init",
               note="the 30 s grace period a job's init avoids"),
        Figure("real_node.kubelet_floor.started_after_delete", f"Real node: bare Pods deleted 0.2 to 1.5 s after "
               f"their create whose container started after the delete returned, of {floor['pods']}", "pods",
               float(floor["started_after_delete"]), None, "info", None,
               note="the kubelet's floor for a Pod made just before a kill (details: seconds after the delete)"),
    ]
    return Measurement(figures, details)
