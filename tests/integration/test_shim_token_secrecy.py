"""The family token appears nowhere but in its Secret and the job's environment: not in
the shim's log, any DLWSJob, any Pod spec, any Event, or any response body."""
from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.aio import client

from dlws_contract import resource
from tests.integration.jobs import Jobs
from tests.integration.shim_fixture import ShimClient, make_root
from tests.kubeobj import plain

pytestmark = pytest.mark.cluster


async def test_the_token_is_never_written_or_answered(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any, http: Any) -> None:
    root = await make_root(api, namespace)
    token = root.token
    shim_client = ShimClient(http, shim.url)
    jobs = Jobs(api, namespace)

    child = (await shim_client.submit(token, interactivePort="8080"))["jobId"]
    grandchild = (await shim_client.submit(token, parentJobId=child))["jobId"]
    await jobs.running_with_ip(child)
    for op in ("JobDetail", "GetJobIP"):
        for job_id in (root.name, child, grandchild):
            await shim_client.call(op, token, jobId=job_id)
    await shim_client.call("GetJobIP", token, jobId=grandchild, wait=5)
    # Bad calls too: errors must not echo it either.
    await shim_client.call("JobDetail", token, jobId=token)
    await shim_client.call("SubmitJob", token, jobName="x")
    await shim_client.call("SubmitJob", token, jobName="x", resourcegpu=0, dataPath="d", image="i",
                           jobType="t", env=json.dumps({"LEAK": token}))
    async with http.post(f"{shim.url}child/JobDetail", headers={"Authorization": f"Bearer {token}"},
                         json={"jobId": child}) as resp:
        shim_client.bodies.append(await resp.text())
    async with http.get(f"{shim.url}child/{token}?familyToken={token}") as resp:
        shim_client.bodies.append(await resp.text())
    core = client.CoreV1Api(api)
    # Listed before the kill: on kwok nodes the garbage collector may have removed the
    # children's Pods, the only ones with the family label, by the time it answers.
    pods = json.dumps(plain(api, await core.list_namespaced_pod(namespace)))
    await shim_client.call("KillJob", token, jobId=child)

    places = {
        "response bodies": "\n".join(shim_client.bodies),
        "shim log": shim.log_text(),
        "DLWSJobs": json.dumps(await jobs.list_jobs()),
        "Pods": pods,
        "Events": await jobs.events_text(),
    }
    for where, text in places.items():
        assert token not in text, f"the family token appears in {where}"
    # The searches looked at the right things: the log has the calls, the jobs the digest,
    # the Events the operator's own (the family Secret made, the Pods created).
    assert f"jobId={child}" in places["shim log"] and "familyToken=REDACTED" in places["shim log"]
    assert root.digest in places["DLWSJobs"] and root.digest in places["Pods"]
    assert resource.LABEL_FAMILY in places["DLWSJobs"]
    assert "FamilyCreated" in places["Events"] and "PodCreated" in places["Events"]
