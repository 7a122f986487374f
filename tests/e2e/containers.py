"""Acting inside a job's container on the real node: Python run there by `kubectl exec`
(so through the API server and the kubelet), its logs, and the test jobs' programs."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from kubernetes.aio import client

from devcluster.binaries import JOB_IMAGE
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


async def logs(cluster: ClusterAccess, namespace: str, pod: str) -> str:
    result = await asyncio.to_thread(cluster.kubectl, "logs", "-n", namespace, pod, check=False)
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


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
