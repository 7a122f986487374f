"""KillJob racing SubmitJob on the real node: no container of a child made after a kill
above it began ever starts.

The integration test (tests/integration/test_faults_kill_race.py) orders writes by etcd
revision on kwok nodes; here the children are containers. The races run inside the root's
container (programs/race.py), every child reports STARTED with this machine's clock to
the root's collector as its first act, and the kill of each race is known to have been
written between the moment KillJob was sent and the moment it was answered. So a child
that reported a start after its kill's answer started after the kill began, one that
reported before the kill was sent started before it; between the two the order is not
known, and is counted apart.

The kubelet's own floor (bare Pods deleted before their containers ran, some of which
start all the same) is a measurement, not a test: `python -m bench --node real`
(bench/real_jobs.py, kubelet_floor).
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.aio import client

from devcluster.binaries import JOB_IMAGE
from tests.conftest import ClusterAccess
from tests.e2e.containers import (
    COLLECTOR_PORT, RUN_PROGRAM, collector_root, logs, program, reports, run_python, submit_from,
)
from tests.integration.faults import report
from tests.integration.jobs import Jobs, eventually
from tests.integration.revisions import Watching

pytestmark = [pytest.mark.cluster, pytest.mark.real_node]

# Within the shim's default family limits (bursts of 20 submissions): 6 jobs to race on,
# then 4 races of 4 submissions once the bucket has refilled.
RACES = 4  # half with the parent killed, half with the grandparent
SUBMITS_PER_RACE = 4
SPREAD = 1.0  # the kill half-way through: half the submissions come before it
# A child's first act: report its start, with this machine's clock, then wait to be killed.
STARTED = """
import os, time, urllib.request
report = f"STARTED {time.time()!r} {os.environ['DLWS_JOB_ID']}".encode()
urllib.request.urlopen(os.environ["REPORT_TO"], data=report, timeout=10).read()
time.sleep(3600)
"""


async def test_no_container_starts_under_a_job_being_killed(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str,
        real_operator: Any, real_shim: Any) -> None:
    ns = real_namespace
    root, root_ip = await collector_root(real_api, ns)
    jobs = Jobs(real_api, ns)
    parents = [await submit_from(real_cluster, root, cmd="sleep 3600") for _ in range(RACES // 2)]
    grandparents = [await submit_from(real_cluster, root, cmd="sleep 3600") for _ in range(RACES - RACES // 2)]
    middles = [await submit_from(real_cluster, root, cmd="sleep 3600", parentJobId=g) for g in grandparents]
    for job in parents + grandparents + middles:
        await jobs.running_with_ip(job, timeout=120)
    races = [[p, p] for p in parents] + [[g, m] for g, m in zip(grandparents, middles)]
    child = {"jobName": "racer", "resourcegpu": 0, "dataPath": "data", "image": JOB_IMAGE.ref,
             "jobType": "training", "cmd": RUN_PROGRAM,
             "env": json.dumps({"JOB_PROGRAM": STARTED, "REPORT_TO": f"http://{root_ip}:{COLLECTOR_PORT}/"})}
    killed = {k for k, _ in races}

    async with Watching(real_api, ns) as seen:
        out = await run_python(real_cluster, ns, root.name, program("race"), json.dumps(races),
                               str(SUBMITS_PER_RACE), str(SPREAD), json.dumps(child), timeout=300)

        async def all_gone() -> bool:
            below = {j for j in seen.jobs.owner if set(seen.jobs.above(j)) & killed}
            return (killed | below) <= seen.jobs.gone and all(
                p in seen.pods.gone for p, job in seen.pods.owner.items() if job in killed | below)
        await eventually(all_gone, timeout=300, what="every killed job, child and container gone")
    results = json.loads(out.strip().splitlines()[-1])
    started = {job: float(t) for job, t in reports(await logs(real_cluster, ns, root.name), "STARTED").items()}

    assert seen.jobs.lists == 1 and seen.pods.lists == 1, "a watch listed again: events may be missing"
    kill_of = {r["parent"]: r["kill"] for r in results}
    assert all(status == 200 for _, _, status, _ in kill_of.values()), results
    answered = [body["jobId"] for r in results for status, body in r["submissions"]
                if status == 200 and "jobId" in body]
    children = {j for j, parent in seen.jobs.owner.items() if parent in kill_of and j in seen.jobs.created}
    late = {j for j in children if seen.jobs.after_kill(j, seen.jobs.created[j])}
    in_window = {j for p, j in seen.pods.owner.items() if j in children and seen.jobs.after_kill(str(j), seen.pods.created[p])}
    after: dict[str, float] = {}  # started after its kill was answered: how long after
    unknown = set()
    # started after its Pod's deletion was seen: the kubelet started it all the same
    after_pod_deleted: dict[str, float] = {}
    for job, at in started.items():
        if job in children:
            sent, answered_at = kill_of[seen.jobs.owner[job]][:2]
            if at > answered_at:
                after[job] = at - answered_at
                pod_deleted = seen.pods.killed.get(job)  # a job's Pod has the job's name
                if pod_deleted is not None:
                    after_pod_deleted[job] = at - pod_deleted.at
            elif at >= sent:
                unknown.add(job)
    report("KillJob racing SubmitJob on the real node", races=len(races),
           submissions=RACES * SUBMITS_PER_RACE, answered=len(answered), children_created=len(children),
           children_created_after_kill_began=len(late), containers_started=len(started.keys() & children),
           containers_of_children_created_after_kill_began=len(started.keys() & late),
           pods_created_after_kill_began=len(in_window),
           containers_started_after_kill_answered=len(after),
           started_after_kill_answered_s=sorted(round(d, 2) for d in after.values()),
           started_after_pod_deletion_seen_s=sorted(round(d, 2) for d in after_pod_deleted.values()),
           containers_started_while_kill_in_flight=len(unknown))
    assert set(answered) <= children
    assert not set(answered) & late, "answered with a jobId, though created after a kill above it began"
    assert not started.keys() & late, "a container ran for a child created after a kill above it began"

