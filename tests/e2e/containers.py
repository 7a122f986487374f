"""Acting inside a job's container on the real node: Python run there by `kubectl exec`
(so through the API server and the kubelet), its logs, and the test jobs' programs."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from kubernetes.aio import client

from devcluster.binaries import JOB_IMAGE
from devcluster.layout import Layout
from devcluster.real_node import NodePlan
from examples.seed_samples import program as sample_program
from tests.conftest import ClusterAccess
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import Root, make_root

PROGRAMS = Path(__file__).with_name("programs")
# A job whose program comes in its environment (JOB_PROGRAM): no image but the job image.
RUN_PROGRAM = 'exec python3 -c "$JOB_PROGRAM"'
COLLECTOR_PORT = 7000


def program(name: str) -> str:
    return (PROGRAMS / f"{name}.py").read_text()


async def run_python(cluster: ClusterAccess, namespace: str, pod: str, source: str, *args: str,
                     timeout: float = 120.0) -> str:
    """Runs `python3 - args...` in the pod's job container, the source on its stdin."""
    result = await asyncio.to_thread(
        cluster.kubectl, "exec", "-i", "-n", namespace, pod, "--", "python3", "-", *args,
        input=source, timeout=timeout, check=False)
    assert result.returncode == 0, f"python in {pod} failed ({result.returncode}):\n{result.stderr}"
    return str(result.stdout)


async def run_sample(cluster: ClusterAccess, ns: str, pod: str, sample: str, call: str,
                     submit_params: dict[str, str] | None = None) -> tuple[str, list[Any]]:
    """One of the document's samples, verbatim, run by python3 inside the pod's container."""
    out = await run_python(cluster, ns, pod, sample_program(sample, call, submit_params))
    handler, args = json.loads(out.strip().splitlines()[-1])
    return str(handler), list(args)


async def logs(cluster: ClusterAccess, namespace: str, pod: str) -> str:
    result = await asyncio.to_thread(cluster.kubectl, "logs", "-n", namespace, pod, check=False)
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def reports(log: str, event: str) -> dict[str, str]:
    """The jobs that reported `event` to the root's collector (`<event> [what] <job id>`),
    each with what it reported."""
    return {m.group(2): m.group(1) or "" for m in re.finditer(rf"^REPORT {event} (?:(\S+) )?(\S+)$", log, re.M)}


async def collector_root(api: client.ApiClient, namespace: str, **spec: Any) -> tuple[Root, str]:
    """A family root running the collector; returns it with its pod IP."""
    spec = {"image": JOB_IMAGE.ref, "cmd": RUN_PROGRAM, "userName": "alice", "userId": 1000,
            "env": {"JOB_PROGRAM": program("collector")}, **spec}
    root = await make_root(api, namespace, **spec)
    job = await Jobs(api, namespace).running_with_ip(root.name)
    return root, str(job["status"]["podIP"])


# Runs in a job's container: calls one /child operation with the job's own token and
# environment, prints the JSON reply (HTTP status and body).
CALL = """
import json, os, sys, requests
op, params = sys.argv[1], json.loads(sys.argv[2])
params.setdefault("familyToken", os.environ["FAMILY_TOKEN"])
reply = requests.get(os.environ["DLWS_REST_API"] + "child/" + op, params=params, timeout=30)
print(json.dumps([reply.status_code, reply.json()]))
"""


async def call_from(cluster: ClusterAccess, root: Root, op: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """One /child call made by a process inside the root job's container."""
    out = await run_python(cluster, root.namespace, root.name, CALL, op, json.dumps(params))
    status, body = json.loads(out.strip().splitlines()[-1])
    return int(status), dict(body)


async def submit_from(cluster: ClusterAccess, root: Root, **params: Any) -> str:
    job = {"jobName": "child", "resourcegpu": 0, "dataPath": "data", "image": JOB_IMAGE.ref,
           "jobType": "training", **params}
    status, body = await call_from(cluster, root, "SubmitJob", **job)
    assert status == 200 and "jobId" in body, body
    return str(body["jobId"])


async def detail_when(cluster: ClusterAccess, root: Root, job_id: str, *statuses: str,
                      timeout: float = 120.0) -> dict[str, Any]:
    """JobDetail, asked from inside the root's container, once the job has one of statuses."""
    async def check() -> dict[str, Any] | None:
        status, body = await call_from(cluster, root, "JobDetail", jobId=job_id)
        return body if status == 200 and body.get("jobStatus") in statuses else None
    return await eventually(check, timeout=timeout, interval=1.0, what=f"{job_id} {' or '.join(statuses)}")


async def ctr(cluster: ClusterAccess, *args: str) -> str:
    """containerd's own CLI on the cluster's real node (its kubeconfig lives in its state dir)."""
    socket = NodePlan.of(Layout.at(cluster.kubeconfig.parent)).containerd_socket
    done = await asyncio.to_thread(
        subprocess.run, [str(cluster.bin_dir / "ctr"), "--address", str(socket), "-n", "k8s.io", *args],
        capture_output=True, text=True, check=True)
    return str(done.stdout)


async def container_pid(cluster: ClusterAccess, pod: str, container: str) -> int:
    """The host PID of a running container's first process."""
    pids = {line.split()[0]: int(line.split()[1]) for line in (await ctr(cluster, "tasks", "ls")).splitlines()[1:]
            if line.split()[-1] == "RUNNING"}
    for cid in (await ctr(cluster, "containers", "ls", "-q",
                          f"labels.io.kubernetes.container.name=={container}")).split():
        if cid not in pids:
            continue
        try:
            labels = json.loads(await ctr(cluster, "containers", "info", cid))["Labels"]
        except subprocess.CalledProcessError:
            continue  # removed since the listing
        if labels.get("io.kubernetes.pod.name") == pod:
            return pids[cid]
    raise AssertionError(f"no running container {container} of pod {pod}")


async def caller_counts(shim_url: str) -> Counter[str]:
    """dlws_shim_submit_callers_total by attribution, from the shim's /metrics."""
    async with aiohttp.ClientSession() as session, session.get(shim_url + "metrics") as resp:
        text = await resp.text()
    return Counter({m.group(1): int(float(m.group(2))) for m in re.finditer(
        r'^dlws_shim_submit_callers_total\{attribution="(\w+)"\} (\S+)$', text, re.M)})


async def submit_directly(shim_url: str, token: str, job: dict[str, Any]) -> str:
    """SubmitJob from this machine (the test process), outside the pod network."""
    async with aiohttp.ClientSession() as session, \
            session.get(shim_url + "child/SubmitJob", params={**job, "familyToken": token}) as resp:
        body = await resp.json()
    assert "jobId" in body, body
    return str(body["jobId"])
