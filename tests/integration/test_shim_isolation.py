"""A family's token reaches its own jobs only: against a real API server and operator."""
from __future__ import annotations

from typing import Any

import pytest
from kubernetes.aio import client

from dlws_contract import resource, tokens
from tests.integration.jobs import Jobs, eventually, snapshot
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize("where", ["same namespace", "other namespace"])
async def test_a_token_cannot_touch_another_familys_jobs(
        api: client.ApiClient, namespace: str, other_namespace: str, operator: Any, shim: Any,
        http: Any, where: str) -> None:
    b_ns = namespace if where == "same namespace" else other_namespace
    a = await make_root(api, namespace)
    b = await make_root(api, b_ns)
    shim_client = ShimClient(http, shim.url)
    b_child = (await shim_client.submit(b.token))["jobId"]
    before = await snapshot(api, namespace, b_ns)

    for target in (b.name, b_child):
        status, body, _ = await shim_client.call("KillJob", a.token, jobId=target)
        assert (status, body) == (200, {"result": f"Cannot Kill the job. Job ID: {target}"})
        status, body, _ = await shim_client.call("JobDetail", a.token, jobId=target)
        assert (status, body) == (200, {"error": f"Could not find job with id {target}"})
        status, body, _ = await shim_client.call("GetJobIP", a.token, jobId=target)
        assert (status, body) == (200, {"error": f"Could not find job with id {target}"})
        body = await shim_client.submit(a.token, parentJobId=target)
        assert body == {"error": f"Could not find parent job with id {target}"}

    assert await snapshot(api, namespace, b_ns) == before


async def test_missing_or_wrong_tokens_are_403_and_change_nothing(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any, http: Any) -> None:
    root = await make_root(api, namespace)
    shim_client = ShimClient(http, shim.url)
    before = await snapshot(api, namespace)
    job = {"jobName": "x", "resourcegpu": 0, "dataPath": "d", "image": "busybox", "jobType": "training"}
    for token in (None, "", tokens.new_token(), root.token[:-1] + ("0" if root.token[-1] != "0" else "1"),
                  root.digest, "not a token"):
        for op, params in (("SubmitJob", job), ("KillJob", {"jobId": root.name}),
                           ("JobDetail", {"jobId": root.name}), ("GetJobIP", {"jobId": root.name})):
            status, body, _ = await shim_client.call(op, token, **params)
            assert status == 403 and set(body) == {"error"}, (op, token, body)
    assert await snapshot(api, namespace) == before


async def test_a_killed_familys_token_stops_working(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any, http: Any) -> None:
    root = await make_root(api, namespace)
    shim_client = ShimClient(http, shim.url)
    child = (await shim_client.submit(root.token))["jobId"]
    status, body, _ = await shim_client.call("KillJob", root.token, jobId=root.name)
    assert body == {"result": "Success, the job is scheduled to be terminated."}

    async def refused() -> bool:
        status, _, _ = await shim_client.call("JobDetail", root.token, jobId=child)
        return status == 403
    await eventually(refused, timeout=10, what="the killed family's token refused")
    status, _, _ = await shim_client.call("SubmitJob", root.token, jobName="x", resourcegpu=0,
                                          dataPath="d", image="busybox", jobType="training")
    assert status == 403
    jobs = Jobs(api, namespace)
    await eventually(lambda: _none_left(jobs, root.digest), timeout=60, what="the family gone")
    status, _, _ = await shim_client.call("JobDetail", root.token, jobId=root.name)
    assert status == 403


async def _none_left(jobs: Jobs, digest: str) -> bool:
    return not await jobs.list_jobs(f"{resource.LABEL_FAMILY}={digest}")
