"""dlws_client and dlws-child against the real shim and control plane (kwok nodes give
Pods their phases and IPs), called as a job would call them: with the FAMILY_TOKEN and
DLWS_REST_API the operator gave a real root job's Pod.

The client is synchronous (urllib), so each call runs in a thread, off the test's loop.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes.aio import client

from dlws_client import STATUSES, Family, Forbidden, IdempotencyConflict, Job, Refused
from dlws_contract import resource
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import Root, make_root

pytestmark = pytest.mark.cluster

JOB: dict[str, Any] = {"jobName": "client", "image": "busybox", "dataPath": "data",
                       "jobType": "training", "cmd": "sleep 3600"}
DLWS_CHILD = Path(sys.executable).parent / "dlws-child"  # the console script make installs


def family_of(root: Root, **options: Any) -> Family:
    return Family.from_env({"FAMILY_TOKEN": root.token, "DLWS_REST_API": root.rest_api}, **options)


async def submit(family: Family, **params: Any) -> Job:
    return await asyncio.to_thread(lambda: family.submit(**{**JOB, **params}))


async def family_size(api: client.ApiClient, namespace: str, root: Root) -> int:
    return len(await Jobs(api, namespace).list_jobs(f"{resource.LABEL_FAMILY}={root.digest}"))


async def gone(jobs: Jobs, name: str) -> bool:
    return await jobs.get(name) is None


async def test_submit_makes_children_where_it_is_told(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> None:
    root = await make_root(api, namespace)
    family = family_of(root)
    child = await submit(family, jobName="child")
    grandchild = await submit(family, jobName="grandchild", parentJobId=child.id)
    jobs = Jobs(api, namespace)
    for job, parent in ((child, root.name), (grandchild, child.id)):
        made = await jobs.get(job.id)
        assert made is not None and not job.replayed
        assert made["metadata"]["labels"][resource.LABEL_PARENT] == parent
    assert await family_size(api, namespace, root) == 3


async def test_detail_tells_a_job_in_dlws_words(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> None:
    root = await make_root(api, namespace)
    child = await submit(family_of(root), jobName="detailed")
    detail = await asyncio.to_thread(child.detail)
    assert (detail["jobId"], detail["jobName"], detail["parentJobId"], detail["rootJobId"]) == \
        (child.id, "detailed", root.name, root.name)
    assert detail["jobStatus"] in STATUSES and "familyToken" not in json.dumps(detail)


async def test_wait_until_returns_once_the_job_runs(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> None:
    root = await make_root(api, namespace)
    child = await submit(family_of(root))
    detail = await asyncio.to_thread(child.wait_until, "running", 60)
    assert detail["jobStatus"] == "running" and detail["jobId"] == child.id
    status = (await Jobs(api, namespace).get(child.id) or {})["status"]
    assert status["phase"] == "Running"


async def test_ip_waits_for_a_new_jobs_pod_ip(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> None:
    root = await make_root(api, namespace)
    child = await submit(family_of(root))
    ip = await asyncio.to_thread(child.ip, 60)  # asked at once: the Pod is still being made
    running = await Jobs(api, namespace).running_with_ip(child.id)
    assert ip == running["status"]["podIP"]


async def test_kill_takes_the_job_and_its_subtree_and_a_second_kill_is_refused(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> None:
    root = await make_root(api, namespace)
    family = family_of(root)
    child = await submit(family)
    grandchild = await submit(family, parentJobId=child.id)
    await asyncio.to_thread(child.kill)
    jobs = Jobs(api, namespace)
    for job in (child, grandchild):
        await eventually(lambda: gone(jobs, job.id), timeout=60, what=f"{job.id} gone")
    with pytest.raises(Refused, match="Cannot Kill the job"):
        await asyncio.to_thread(child.kill)
    assert await jobs.get(root.name) is not None


async def test_the_shims_refusals_are_typed_and_never_show_the_token(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> None:
    root = await make_root(api, namespace)
    family = family_of(root)
    with pytest.raises(Refused, match="job name cannot be empty") as refused:
        await submit(family, jobName="")
    with pytest.raises(Refused, match="Could not find job") as unknown:
        await asyncio.to_thread(family.job("no-such-job").detail)
    stranger = Family(root.rest_api, "0" * 64)
    with pytest.raises(Forbidden) as forbidden:
        await asyncio.to_thread(stranger.job(root.name).detail)
    for caught in (refused, unknown, forbidden):
        assert root.token not in str(caught.value)


async def test_one_idempotency_key_makes_one_job(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> None:
    root = await make_root(api, namespace)
    family = family_of(root)
    first = await submit(family, idempotency_key="step-1")
    again = await submit(family, idempotency_key="step-1")
    assert (again.id, first.replayed, again.replayed) == (first.id, False, True)
    assert await family_size(api, namespace, root) == 2
    with pytest.raises(IdempotencyConflict):
        await submit(family, idempotency_key="step-1", cmd="sleep 60")
    assert await family_size(api, namespace, root) == 2


async def test_a_submission_loop_rides_out_the_rate_limit(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any) -> None:
    limited = extra_shim("--submit-rate", "2", "--submit-burst", "1")
    root = await make_root(api, namespace)
    family = Family(limited.url, root.token, deadline=30)
    made = [await submit(family) for _ in range(4)]
    assert len({job.id for job in made}) == 4
    assert await family_size(api, namespace, root) == 5
    # Each after the first was refused at least once, then retried after Retry-After.
    assert limited.log_text().count('/child/SubmitJob" 429') >= 3


async def dlws_child(root: Root, *argv: str) -> tuple[int, Any, str]:
    """dlws-child as a job runs it: only the job's variables. (exit code, stdout's JSON, stderr)"""
    env = {"PATH": os.environ.get("PATH", ""), "FAMILY_TOKEN": root.token, "DLWS_REST_API": root.rest_api}
    proc = await asyncio.create_subprocess_exec(
        str(DLWS_CHILD), *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert root.token not in out.decode() + err.decode()
    return proc.returncode or 0, json.loads(out) if out.strip() else None, err.decode()


async def test_the_command_line_on_a_family_of_three_levels(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> None:
    root = await make_root(api, namespace)
    job = ["--image", "busybox", "--dataPath", "data", "--jobType", "training", "--cmd", "sleep 3600"]
    code, child, err = await dlws_child(root, "submit", "--jobName", "child", *job)
    assert code == 0, err
    code, grandchild, err = await dlws_child(root, "submit", "--jobName", "grandchild",
                                             "--parentJobId", child["jobId"], "--idempotency-key", "gc-1", *job)
    assert code == 0, err
    gc = grandchild["jobId"]

    code, detail, err = await dlws_child(root, "wait", gc, "--status", "running", "--timeout", "60")
    assert (code, detail["jobStatus"], detail["parentJobId"], detail["rootJobId"]) == \
        (0, "running", child["jobId"], root.name), err
    code, ip, _ = await dlws_child(root, "ip", gc, "--wait", "30")
    assert (code, ip) == (0, {"IP": detail["podIP"]})
    code, detail, _ = await dlws_child(root, "detail", gc)
    assert (code, detail["jobId"], detail["jobName"]) == (0, gc, "grandchild")

    code, killed, _ = await dlws_child(root, "kill", child["jobId"])
    assert (code, killed) == (0, {"result": "Success, the job is scheduled to be terminated."})
    jobs = Jobs(api, namespace)
    await eventually(lambda: gone(jobs, gc), timeout=60, what="the grandchild gone with its parent")
    code, out, err = await dlws_child(root, "detail", gc)  # gone, and known as killed by its parent's kill
    assert (code, out["jobStatus"], out["killedBy"]) == (0, "killed", child["jobId"]), err
    code, out, err = await dlws_child(root, "detail", "no-such-job")
    assert (code, out, json.loads(err)["kind"]) == (3, None, "Refused")
