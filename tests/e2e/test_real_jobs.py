"""Jobs that really run: each job here is a container on the real node, and every /child
call is made by a process inside a job's container, over the pod network."""
from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import pytest
from kubernetes.aio import client, watch

from devcluster.binaries import JOB_IMAGE
from dlws_contract import resource
from examples.seed_samples import swappable
from tests.conftest import ClusterAccess
from tests.e2e.containers import (
    COLLECTOR_PORT, RUN_PROGRAM, call_from, caller_counts, collector_root, detail_when, logs, program, reports,
    run_python, ctr, run_sample, submit_directly, submit_from,
)
from tests.integration.jobs import Jobs, eventually

pytestmark = [pytest.mark.cluster, pytest.mark.real_node]


async def running_containers_of(cluster: ClusterAccess, pods: set[str]) -> list[str]:
    """containerd's job containers of any of these pods whose task still runs. (An exited
    container's record stays until the kubelet removes it, a while later.)"""
    running = {line.split()[0] for line in (await ctr(cluster, "tasks", "ls")).splitlines()[1:]
               if line.split()[-1] == "RUNNING"}
    found = []
    for cid in (await ctr(cluster, "containers", "ls", "-q", "labels.io.kubernetes.container.name==job")).split():
        if cid not in running:
            continue
        try:
            labels = json.loads(await ctr(cluster, "containers", "info", cid))["Labels"]
        except subprocess.CalledProcessError:
            continue  # removed since the listing: not running
        if labels.get("io.kubernetes.pod.name") in pods:
            found.append(cid)
    return found


async def test_each_job_s_submissions_are_its_children_and_die_with_it(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str,
        real_operator: Any, real_shim: Any) -> None:
    """root -> child -> grandchild -> great-grandchild, each submitted by the level above with
    the document's sample, verbatim and without parentJobId, the moment its job starts
    (programs/worker.py). A kill of the child reaches the three below the root, and only them."""
    ns = real_namespace
    root, root_ip = await collector_root(real_api, ns)
    assert root.rest_api == real_shim.url and root.rest_api.endswith("/")
    jobs = Jobs(real_api, ns)

    # The document's submit sample, verbatim; what it sends is the test's worker instead of
    # its Jupyter image, which cannot be pulled here.
    child_params = {
        "image": JOB_IMAGE.ref, "cmd": RUN_PROGRAM, "interactivePort": "8080",
        "env": json.dumps({"JOB_PROGRAM": program("worker"), "SUBMIT_SAMPLE": swappable("submit_child"),
                           "DEPTH": "1", "MAX_DEPTH": "3", "JOB_IMAGE": JOB_IMAGE.ref,
                           "REPORT_TO": f"http://{root_ip}:{COLLECTOR_PORT}/"})}
    handler, args = await run_sample(real_cluster, ns, root.name, "submit_child", "submit_child(_err, _ok)",
                                     child_params)
    assert handler == "success", args
    (child,) = args

    async def submitted(by: str) -> str | None:
        return reports(await logs(real_cluster, ns, root.name), "SUBMITTED").get(by)
    grandchild = await eventually(lambda: submitted(child), timeout=120, interval=1.0, what="the grandchild")
    assert not grandchild.startswith("error:"), grandchild
    great = await eventually(lambda: submitted(grandchild), timeout=120, interval=1.0, what="its child")
    assert not great.startswith("error:"), great
    for job, parent in ((child, root.name), (grandchild, child), (great, grandchild)):
        made = await jobs.running_with_ip(job, timeout=120)
        assert made["metadata"]["labels"][resource.LABEL_PARENT] == parent, job
        handler, args = await run_sample(real_cluster, ns, root.name, "job_detail", f"job_detail({job!r}, _ok)")
        assert args[0]["parentJobId"] == parent, args

    async def child_ip() -> str | None:
        handler, got = await run_sample(real_cluster, ns, root.name, "job_ip", f"job_ip({child!r}, _ok, _err)")
        return str(got[0]) if handler == "success" else None
    ip = await eventually(child_ip, timeout=120, interval=1.0, what=f"GetJobIP of {child}")

    # By its Pod address, and by its Service's name (JobDetail's endpoints; cluster DNS).
    status, detail = await call_from(real_cluster, root, "JobDetail", jobId=child, log=0)
    (endpoint,) = detail["endpoints"]
    assert endpoint["address"] == f"{ip}:8080" and endpoint["serviceName"].endswith(f".{ns}.svc.cluster.local")
    for address in (f"{ip}:8080", endpoint["serviceAddress"]):
        fetch = f"import requests; print(requests.get('http://{address}/', timeout=5).text)"

        async def answer() -> str | None:
            result = await asyncio.to_thread(
                real_cluster.kubectl, "exec", "-i", "-n", ns, root.name, "--", "python3", "-",
                input=fetch, check=False)
            return result.stdout.strip() if result.returncode == 0 else None
        assert await eventually(answer, timeout=60, interval=1.0, what=f"{child} at {address}") == \
            f"hello from {child}"

    below = {child, grandchild, great}
    await eventually(lambda: _reported(real_cluster, ns, root.name, "UP", below), timeout=60, what="all up")
    root_pod = await jobs.core.read_namespaced_pod(root.name, ns)
    root_container = root_pod.status.container_statuses[0].container_id

    handler, args = await run_sample(real_cluster, ns, root.name, "kill_job", f"kill_job({child!r}, _err, _ok)")
    # The document's kill sample looks for "Success" among the reply's keys, so it calls its
    # success handler whatever the result: the kill is proved by what follows.
    assert (handler, args) == ("success", [])

    for job in below:
        await eventually(lambda job=job: _gone(jobs, job), timeout=120, what=f"{job} and its pod gone")
    for job in (child, grandchild):  # gone, and still known as killed (the kill's record)
        status, body = await call_from(real_cluster, root, "JobDetail", jobId=job, log=0)
        assert (status, body["jobStatus"], body["killedBy"]) == (200, "killed", child), body
    log = await logs(real_cluster, ns, root.name)
    assert below <= set(reports(log, "SIGTERM")), log
    assert await running_containers_of(real_cluster, below) == []
    assert len(await running_containers_of(real_cluster, {root.name})) == 1  # the check sees a live one
    root_pod = await jobs.core.read_namespaced_pod(root.name, ns)
    assert root_pod.status.phase == "Running"
    assert root_pod.status.container_statuses[0].container_id == root_container
    assert root_pod.status.container_statuses[0].restart_count == 0


async def test_calls_from_outside_the_family_s_pods_nest_under_its_root(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str,
        real_operator: Any, real_shim: Any) -> None:
    """The token decides the family, the address only a member: this machine (outside the
    pod network) and a Pod of another family holding the token both get the root."""
    mine, _ = await collector_root(real_api, real_namespace)
    theirs, _ = await collector_root(real_api, real_namespace)
    before = await caller_counts(real_shim.url)
    job = {"jobName": "x", "resourcegpu": 0, "dataPath": "d", "image": JOB_IMAGE.ref, "jobType": "training",
           "cmd": "sleep 3600"}
    from_host = await submit_directly(real_shim.url, mine.token, job)
    from_theirs = await submit_from(real_cluster, theirs, familyToken=mine.token, **job)
    jobs = Jobs(real_api, real_namespace)
    for made in (from_host, from_theirs):
        assert (await jobs.get(made))["metadata"]["labels"][resource.LABEL_PARENT] == mine.name
    after = await caller_counts(real_shim.url)
    assert (after["no_pod"] - before["no_pod"], after["other_family"] - before["other_family"]) == (1, 1)


async def _reported(cluster: ClusterAccess, ns: str, root: str, event: str, jobs: set[str]) -> bool:
    return jobs <= set(reports(await logs(cluster, ns, root), event))


async def _gone(jobs: Jobs, name: str) -> bool:
    if await jobs.get(name) is not None:
        return False
    return not [p for p in await jobs.pods() if p.metadata.name == name]


async def _pod_gone(jobs: Jobs, name: str) -> bool:
    return not [p for p in await jobs.pods() if p.metadata.name == name]


async def test_a_job_that_ignores_sigterm_still_ends_by_sigterm(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str,
        real_operator: Any) -> None:
    """`sleep` does not trap SIGTERM; under the job's init it still dies of it (exit 143), not
    of the SIGKILL at the end of the 30 s grace period (137)."""
    ns = real_namespace
    root, _ = await collector_root(real_api, ns)
    child = await submit_from(real_cluster, root, cmd="sleep 3600")
    jobs = Jobs(real_api, ns)
    await jobs.running_with_ip(child, timeout=120)
    exit_codes: list[int] = []
    listening = asyncio.Event()  # the watch's first event, the Pod as it is: the watch is on

    async def watch_pod() -> None:
        async with watch.Watch() as w:
            async for event in w.stream(jobs.core.list_namespaced_pod, ns,
                                        field_selector=f"metadata.name={child}", timeout_seconds=90):
                listening.set()
                for cs in event["object"].status.container_statuses or []:
                    if cs.state and cs.state.terminated:
                        exit_codes.append(cs.state.terminated.exit_code)
                if event["type"] == "DELETED":
                    return
    watcher = asyncio.create_task(watch_pod())
    await asyncio.wait_for(listening.wait(), 60)
    status, body = await call_from(real_cluster, root, "KillJob", jobId=child)
    assert status == 200 and "Success" in body["result"], body
    await asyncio.wait_for(watcher, 100)
    assert exit_codes and exit_codes[-1] == 143, exit_codes


async def test_finished_and_failed_jobs(real_cluster: ClusterAccess, real_api: client.ApiClient,
                                        real_namespace: str, real_operator: Any) -> None:
    root, _ = await collector_root(real_api, real_namespace)
    ok = await submit_from(real_cluster, root, cmd="echo done; exit 0")
    bad = await submit_from(real_cluster, root, cmd="echo failing; exit 3")
    assert (await detail_when(real_cluster, root, ok, "finished", "failed"))["jobStatus"] == "finished"
    failed = await detail_when(real_cluster, root, bad, "finished", "failed")
    assert failed["jobStatus"] == "failed"
    assert "exited with code 3" in failed["errorMsg"] + json.dumps(failed["jobStatusDetail"]), failed
    table = real_cluster.kubectl("get", "dlwsjobs", "-n", real_namespace, ok, bad).stdout
    rows = {line.split()[0]: line.split()[2] for line in table.splitlines()[1:]}
    assert rows == {ok: "Succeeded", bad: "Failed"}, table
    assert "done" in await logs(real_cluster, real_namespace, ok)


async def test_job_detail_log_while_the_pod_exists_and_after(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str, real_operator: Any) -> None:
    """A child prints 1,000 lines and exits: JobDetail's log is their tail, from the Pod
    through the API server, then, the Pod deleted, from the copy the job's init kept on the
    job's storage (<jobPath>/logs/joblog.txt)."""
    root, _ = await collector_root(real_api, real_namespace)
    printer = await submit_from(real_cluster, root, cmd="for i in $(seq 1 1000); do echo line $i; done")
    silent = await submit_from(real_cluster, root, cmd="true")
    tail = "".join(f"line {i}\n" for i in range(501, 1001))
    assert (await detail_when(real_cluster, root, printer, "finished"))["log"] == tail
    assert (await detail_when(real_cluster, root, silent, "finished"))["log"] == ""
    jobs = Jobs(real_api, real_namespace)
    await jobs.core.delete_namespaced_pod(printer, real_namespace)
    await eventually(lambda: _pod_gone(jobs, printer), timeout=60, what=f"the pod of {printer} gone")
    status, body = await call_from(real_cluster, root, "JobDetail", jobId=printer)
    assert (status, body["jobStatus"], body["log"]) == (200, "finished", tail), body


async def test_runningasroot_decides_the_uid(real_cluster: ClusterAccess, real_api: client.ApiClient,
                                             real_namespace: str, real_operator: Any) -> None:
    root, _ = await collector_root(real_api, real_namespace, userId=1234)
    as_user = await submit_from(real_cluster, root, cmd="id -u", runningasroot=0)
    as_root = await submit_from(real_cluster, root, cmd="id -u", runningasroot=1)
    for job in (as_user, as_root):
        await detail_when(real_cluster, root, job, "finished")
    assert (await logs(real_cluster, real_namespace, as_user)).strip() == "1234"
    assert (await logs(real_cluster, real_namespace, as_root)).strip() == "0"
    assert (await run_python(real_cluster, real_namespace, root.name, "import os; print(os.getuid())")).strip() \
        == "1234"


async def test_the_family_token_is_in_the_container_and_nowhere_else(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str,
        real_operator: Any) -> None:
    ns = real_namespace
    root, _ = await collector_root(real_api, ns)
    child = await submit_from(real_cluster, root, cmd="echo child running; sleep 3600")
    await Jobs(real_api, ns).running_with_ip(child, timeout=120)
    inside = await run_python(real_cluster, ns, root.name, "import os; print(os.environ['FAMILY_TOKEN'])")
    assert inside.strip() == root.token
    for args in (("get", "pod", "-n", ns, root.name, child, "-o", "yaml"),
                 ("get", "dlwsjobs", "-n", ns, "-o", "yaml"),
                 ("get", "events", "-A", "-o", "yaml")):
        assert root.token not in real_cluster.kubectl(*args).stdout, args
    for pod in (root.name, child):
        assert root.token not in await logs(real_cluster, ns, pod)


async def test_another_family_is_refused_from_its_own_container(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str,
        real_operator: Any) -> None:
    ns = real_namespace
    mine, _ = await collector_root(real_api, ns)
    child = await submit_from(real_cluster, mine, cmd="sleep 3600")
    theirs, _ = await collector_root(real_api, ns)
    for op in ("JobDetail", "GetJobIP", "KillJob"):
        for job in (mine.name, child):
            status, body = await call_from(real_cluster, theirs, op, jobId=job)
            assert status == 200 and ("error" in body or "Cannot" in body.get("result", "")), (op, body)
    status, body = await call_from(real_cluster, theirs, "SubmitJob", parentJobId=child, jobName="x",
                                   resourcegpu=0, dataPath="d", image=JOB_IMAGE.ref, jobType="training")
    assert status == 200 and "error" in body, body
    forged = mine.token[:-1] + ("0" if mine.token[-1] != "0" else "1")
    for op in ("JobDetail", "GetJobIP", "KillJob", "SubmitJob"):
        status, body = await call_from(real_cluster, theirs, op, jobId=child, familyToken=forged)
        assert status == 403, (op, body)
    status, body = await call_from(real_cluster, mine, "JobDetail", jobId=child)
    assert body["jobStatus"] in ("scheduling", "running"), body
