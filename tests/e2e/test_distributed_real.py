"""Distributed jobs (PSDistJob) that really run: every Pod a container on the real node,
finding the others by DLWS's names through the cluster's DNS, every /child call made from
inside the root's container. One flow for the cost of one root: three jobs at once, one
that finishes, one whose worker fails, one that is killed."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from kubernetes.aio import client

from devcluster.binaries import JOB_IMAGE
from tests.conftest import ClusterAccess
from tests.e2e.containers import (
    RUN_PROGRAM, COLLECTOR_PORT, call_from, collector_root, detail_when, logs, program, reports, run_python,
    submit_from,
)
from tests.e2e.test_real_jobs import running_containers_of
from tests.integration.jobs import Jobs, eventually

pytestmark = [pytest.mark.cluster, pytest.mark.real_node]
SMALL = {"cpurequest": "50m", "memorylimit": "128M"}

# Bad counts, each refused naming its parameter: all sent from one process in the root.
BAD_COUNTS = """
import json, os, sys, requests
job = json.loads(sys.argv[1])
answers = []
for bad in json.loads(sys.argv[2]):
    params = {**job, "familyToken": os.environ["FAMILY_TOKEN"], **bad}
    answers.append(requests.get(os.environ["DLWS_REST_API"] + "child/SubmitJob", params=params, timeout=30).json())
print(json.dumps(answers))
"""


async def test_a_ps_dist_job_finds_its_pods_by_name_finishes_fails_and_dies_whole(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str,
        real_operator: Any, real_shim: Any) -> None:
    ns = real_namespace
    root, root_ip = await collector_root(real_api, ns)
    jobs = Jobs(real_api, ns)

    async def submit(mode: str, workers: int) -> str:
        env = {"JOB_PROGRAM": program("distributed"), "MODE": mode, "JOB_IMAGE": JOB_IMAGE.ref,
               "REPORT_TO": f"http://{root_ip}:{COLLECTOR_PORT}/"}
        return await submit_from(real_cluster, root, jobName=mode, cmd=RUN_PROGRAM, env=json.dumps(env),
                                 jobtrainingtype="PSDistJob", numps=1, numpsworker=workers, **SMALL)
    finish, fail, hold = await submit("finish", 2), await submit("fail", 2), await submit("hold", 1)

    # The root reaches ps-0 at the IP GetJobIP answers, which also lists every Pod's.
    status, ips = await call_from(real_cluster, root, "GetJobIP", jobId=finish, wait=60)
    assert status == 200 and [(p["role"], p["index"]) for p in ips["IPs"]] == [("ps", 0), ("worker", 0),
                                                                              ("worker", 1)], ips
    assert ips["IP"] == ips["IPs"][0]["IP"] and all(p["IP"] for p in ips["IPs"]), ips
    fetch = f"import requests; print(requests.get('http://{ips['IP']}:8080/', timeout=10).text)"

    async def answer() -> str | None:  # its container runs; its server may not listen yet
        result = await asyncio.to_thread(real_cluster.kubectl, "exec", "-i", "-n", ns, root.name, "--",
                                         "python3", "-", input=fetch, check=False)
        return result.stdout.strip() if result.returncode == 0 else None
    assert await eventually(answer, timeout=60, interval=1.0, what="ps-0 answering") == f"ps-0 of {finish}"

    # Each worker resolved ps-0 and told it its index and rank; all exited 0; ps-0 stopped.
    done = await detail_when(real_cluster, root, finish, "finished", "failed", timeout=180)
    assert done["jobStatus"] == "finished", done
    assert [(d["host"], d["phase"]) for d in done["jobStatusDetail"]][1:] == [
        ("worker-0", "Succeeded"), ("worker-1", "Succeeded")], done
    got = reports(await logs(real_cluster, ns, root.name), "PSGOT")
    assert {k: v for k, v in got.items() if k.startswith(finish)} == {
        f"{finish}/worker-0": "1:ok", f"{finish}/worker-1": "2:ok"}  # RANK: ps-0 is 0; the hostfile
    await eventually(lambda: _stopped(real_cluster, {f"{finish}-ps0"}), timeout=90, what="ps-0 stopped")

    # A worker's exit 3 fails the job, naming it, and stops the others.
    failed = await detail_when(real_cluster, root, fail, "failed", "finished", timeout=180)
    assert failed["jobStatus"] == "failed" and f"{fail}-worker1 (worker-1) failed: exited with code 3" in \
        failed["errorMsg"], failed
    await eventually(lambda: _stopped(real_cluster, {f"{fail}-ps0", f"{fail}-worker0"}), timeout=90,
                     what="the failed job's other pods stopped")

    # A kill stops every Pod by SIGTERM, and the grandchild a worker submitted; the root lives.
    async def grandchild() -> str | None:
        return reports(await logs(real_cluster, ns, root.name), "SUBMITTED").get(f"{hold}/worker-0")
    below = await eventually(grandchild, timeout=120, interval=1.0, what="the worker's grandchild")
    assert not below.startswith("error:"), below
    await jobs.running_with_ip(below, timeout=120)
    status, body = await call_from(real_cluster, root, "KillJob", jobId=hold)
    assert status == 200 and "Success" in body["result"], body
    await eventually(lambda: _gone(jobs, hold, below), timeout=120, what="the killed job and its grandchild gone")
    sigterms = reports(await logs(real_cluster, ns, root.name), "SIGTERM")
    assert {f"{hold}/ps-0", f"{hold}/worker-0"} <= set(sigterms), sigterms
    assert await running_containers_of(real_cluster, {f"{hold}-ps0", f"{hold}-worker0", below}) == []
    assert (await jobs.core.read_namespaced_pod(root.name, ns)).status.phase == "Running"

    # Bad counts are refused naming the parameter, and make nothing.
    before = len(await jobs.list_jobs())
    job = {"jobName": "bad", "resourcegpu": 0, "dataPath": "d", "image": JOB_IMAGE.ref, "jobType": "training",
           "jobtrainingtype": "PSDistJob"}
    bad = [{"numps": 0, "numpsworker": 1}, {"numps": 1, "numpsworker": -1}, {"numps": 1, "numpsworker": 64},
           {"numps": "1.5", "numpsworker": 1}, {"jobtrainingtype": "MPIDistJob"}]
    answers = json.loads((await run_python(real_cluster, ns, root.name, BAD_COUNTS, json.dumps(job),
                                           json.dumps(bad))).strip().splitlines()[-1])
    expected = ["numps must be between 1 and 1000, not 0", "numpsworker must be between 1 and 1000, not -1",
                "numps + numpsworker is 65 Pods, above this cluster's bound", "numps must be a whole number",
                "jobtrainingtype MPIDistJob is not supported"]
    assert all(a.get("error", "").startswith(e) for a, e in zip(answers, expected, strict=True)), answers
    assert len(await jobs.list_jobs()) == before


async def _stopped(cluster: ClusterAccess, pods: set[str]) -> bool:
    return await running_containers_of(cluster, pods) == []


async def _gone(jobs: Jobs, *names: str) -> bool:
    if any([await jobs.get(name) is not None for name in names]):
        return False
    return not [p for p in await jobs.pods() if p.metadata.labels.get("dlworkspace.io/job") in names]
