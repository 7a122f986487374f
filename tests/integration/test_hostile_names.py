"""Names and parameters that try to escape: jobIds with path separators, "..", other
namespaces and label-selector syntax reach no job outside the caller's family; shell
metacharacters end up verbatim in the job's own container command and are never run by
the shim or the operator. (Huge env maps, refused whole before any API call, are in
tests/unit/test_shim_http.py.)"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes.aio import client

from dlws_contract import resource
from dlws_operator.pod_spec import job_command
from tests.integration.faults import UNLIMITED, report
from tests.integration.jobs import Jobs, snapshot
from tests.integration.shim_fixture import ShimClient, make_root
from tests.kubeobj import plain

pytestmark = pytest.mark.cluster

JOB = {"jobName": "x", "resourcegpu": "0", "dataPath": "d", "image": "busybox", "jobType": "training"}


def escaping_ids(child: str, namespace: str, other_namespace: str, victim: str) -> list[str]:
    return [
        "..", "../..", f"../{victim}", f"{child}/..", f"{child}/../{victim}", "/", f"/{victim}", f"{victim}/",
        f"{other_namespace}/{victim}", f"../../namespaces/{other_namespace}/dlwsjobs/{victim}",
        f"{namespace}/{child}", "%2e%2e", f"%2F{victim}", f"{victim}%00", f"{victim}\x00", f"{victim}\n",
        f" {victim}", child.upper(), f"{victim}?namespace={other_namespace}", f"{victim}#x",
        f"{resource.LABEL_ROOT}={victim}", f"{resource.LABEL_FAMILY}!=x", "x in (a,b)", "!x", "*", ",",
        f"{victim},{child}", "a" * 64, "a" * 10_000, "", " ", "-x", "x-", "\\", f"..\\{victim}",
    ]


async def test_job_ids_that_try_to_escape_reach_nothing(
        api: client.ApiClient, namespace: str, other_namespace: str, operator: Any, extra_shim: Any,
        http: aiohttp.ClientSession) -> None:
    shim = extra_shim(*UNLIMITED)  # every attempt reaches the lookup, none is rate-limited
    ours = await make_root(api, namespace)
    # Another family's job, named as a path or selector might aim at it.
    victim = (await make_root(api, other_namespace, name="victim")).name
    shim_client = ShimClient(http, shim.url)
    child = (await shim_client.submit(ours.token))["jobId"]
    before = await snapshot(api, namespace, other_namespace)
    sent = 0
    for job_id in escaping_ids(child, namespace, other_namespace, victim):
        for op in ("KillJob", "JobDetail", "GetJobIP"):
            status, body, _ = await shim_client.call(op, ours.token, jobId=job_id)
            sent += 1
            assert status in (200, 400), (op, job_id, status, body)
            assert "jobName" not in body and "IP" not in body and \
                not body.get("result", "").startswith("Success"), (op, job_id, body)
        if job_id.strip():  # (an empty parentJobId means the family root, as documented)
            status, body, _ = await shim_client.call("SubmitJob", ours.token, parentJobId=job_id, **JOB)
            sent += 1
            assert status in (200, 400) and "jobId" not in body, (job_id, status, body)
        # Extra parameters naming another namespace or a selector change nothing either.
        status, body, _ = await shim_client.call("KillJob", ours.token, jobId=victim, namespace=other_namespace,
                                                 labelSelector=f"{resource.LABEL_ROOT}={victim}")
        sent += 1
        assert not body.get("result", "").startswith("Success"), body
    assert await snapshot(api, namespace, other_namespace) == before
    report("escaping jobIds", requests=sent, ids=len(escaping_ids(child, namespace, other_namespace, victim)),
           jobs_reached_outside_family=0, cluster_changes=0)


async def test_shell_metacharacters_reach_only_the_jobs_own_container_command(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any, http: aiohttp.ClientSession,
        tmp_path: Path) -> None:
    keep = tmp_path / "keep"
    keep.write_text("still here")
    markers = [tmp_path / f"ran-{i}" for i in range(5)]
    cmd = (f"touch {markers[0]}; echo $(touch {markers[1]}) `touch {markers[2]}` | tee {markers[3]} "
           f"&& rm -rf {keep} || touch {markers[4]} > /dev/null 2>&1 & wait")
    env = {"INJECT": f"$(touch {markers[1]})", "SEMI": f"; touch {markers[0]}"}
    root = await make_root(api, namespace)
    shim_client = ShimClient(http, shim.url)
    job_name = f"n$(touch {markers[2]})`id`;|&"
    job_id = (await shim_client.submit(root.token, cmd=cmd, env=json.dumps(env), jobName=job_name))["jobId"]

    jobs = Jobs(api, namespace)
    await jobs.running_with_ip(job_id)
    pod = await jobs.core.read_namespaced_pod(resource.pod_name(job_id), namespace)
    container = plain(api, pod)["spec"]["containers"][0]
    assert container["command"] == job_command(cmd)  # verbatim, for the job's own shell
    pod_env = {e["name"]: e.get("value") for e in container["env"]}
    assert pod_env["INJECT"] == env["INJECT"] and pod_env["SEMI"] == env["SEMI"]
    status, detail, _ = await shim_client.call("JobDetail", root.token, jobId=job_id)
    assert detail["jobName"] == job_name and detail["jobParams"]["cmd"] == cmd
    # The shim and the operator run on this machine: had either run the command, these
    # would show it.
    assert [m for m in markers if m.exists()] == [] and keep.read_text() == "still here"
