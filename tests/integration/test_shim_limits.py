"""A job that submits in a loop meets its family's limits; the cluster holds exactly the
allowed number of jobs, and other families are not slowed."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes.aio import client

from dlws_contract import resource
from tests.integration.jobs import Jobs
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster

JOB = {"jobName": "loop", "resourcegpu": 0, "dataPath": "d", "image": "busybox", "jobType": "training",
       "cmd": "sleep 3600"}


async def family_size(api: client.ApiClient, namespace: str, digest: str) -> int:
    return len(await Jobs(api, namespace).list_jobs(f"{resource.LABEL_FAMILY}={digest}"))


async def test_a_submission_loop_stops_at_the_live_job_limit(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any, http: Any) -> None:
    shim = extra_shim("--max-live-jobs", "5", "--submit-rate", "1000", "--submit-burst", "1000")
    root = await make_root(api, namespace)
    shim_client = ShimClient(http, shim.url)
    answers = []
    for _ in range(12):
        answers.append(await shim_client.call("SubmitJob", root.token, **JOB))
    statuses = [status for status, _, _ in answers]
    assert statuses == [200] * 4 + [429] * 8  # the root is one of the 5
    status, body, headers = answers[-1]
    assert "too many live jobs" in body["error"] and int(headers["Retry-After"]) >= 1
    assert await family_size(api, namespace, root.digest) == 5


async def test_concurrent_submissions_do_not_pass_the_live_job_limit(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any, http: Any) -> None:
    shim = extra_shim("--max-live-jobs", "4", "--submit-rate", "1000", "--submit-burst", "1000")
    root = await make_root(api, namespace)
    shim_client = ShimClient(http, shim.url)
    answers = await asyncio.gather(*(shim_client.call("SubmitJob", root.token, **JOB) for _ in range(15)))
    assert sorted(status for status, _, _ in answers) == [200] * 3 + [429] * 12
    assert await family_size(api, namespace, root.digest) == 4


async def test_a_submission_loop_is_rate_limited_per_family(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any, http: Any) -> None:
    shim = extra_shim("--submit-rate", "0.05", "--submit-burst", "3")
    looping = await make_root(api, namespace)
    other = await make_root(api, namespace)
    shim_client = ShimClient(http, shim.url)
    statuses = []
    for _ in range(10):
        status, body, headers = await shim_client.call("SubmitJob", looping.token, **JOB)
        statuses.append(status)
    assert statuses == [200] * 3 + [429] * 7
    assert "too many submissions" in body["error"] and int(headers["Retry-After"]) >= 1
    assert await family_size(api, namespace, looping.digest) == 4
    # Another family, same shim, same moment: not slowed.
    status, body, _ = await shim_client.call("SubmitJob", other.token, **JOB)
    assert status == 200 and "jobId" in body


async def test_depth_limit(api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any,
                           http: Any) -> None:
    shim = extra_shim("--max-depth", "2")
    root = await make_root(api, namespace)
    shim_client = ShimClient(http, shim.url)
    one = (await shim_client.submit(root.token))["jobId"]
    two = (await shim_client.submit(root.token, parentJobId=one))["jobId"]
    status, body, headers = await shim_client.call("SubmitJob", root.token, parentJobId=two, **JOB)
    assert status == 429 and "too deep" in body["error"] and headers["Retry-After"]
    assert await family_size(api, namespace, root.digest) == 3
