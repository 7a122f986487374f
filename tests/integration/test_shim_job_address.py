"""GetJobIP answers a job's address from the shim's own view of the Pods, as soon as the
Pod has one: it waits for no status write of the operator's. Never the address of a Pod
another job controls (tests/unit/test_shim_job_address.py has the rest of the rule)."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes.aio import client

from dlws_contract import resource
from dlws_operator.pod_spec import build_pod
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster


async def test_getjobip_answers_the_pods_address_without_the_operators_status_write(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any, http: Any) -> None:
    root = await make_root(api, namespace)
    calls, jobs, core = ShimClient(http, shim.url), Jobs(api, namespace), client.CoreV1Api(api)
    operator.stop()  # nothing writes the jobs' status from here on
    try:
        job_id = str((await calls.submit(root.token))["jobId"])
        stranger = str((await calls.submit(root.token))["jobId"])
        job = await jobs.get(job_id)
        assert job is not None
        # A Pod of the stranger's name that its job does not control (as an earlier job's
        # of that name would be; here another job's): its address is never the stranger's.
        impostor = build_pod(job)
        impostor["metadata"]["name"] = stranger
        await core.create_namespaced_pod(namespace, impostor)
        # The job's own Pod, as the operator makes it.
        waiting = asyncio.create_task(calls.call("GetJobIP", root.token, jobId=job_id, wait=60))
        await core.create_namespaced_pod(namespace, build_pod(job))
        status, body, _ = await waiting
        pod = await core.read_namespaced_pod(job_id, namespace)
        assert status == 200 and body == {"IP": pod.status.pod_ip}, body
        assert not ((await jobs.get(job_id)) or {}).get("status", {}).get("podIP")  # no status written

        await eventually(lambda: _has_ip(core, namespace, stranger), what="the impostor's address")
        status, body, _ = await calls.call("GetJobIP", root.token, jobId=stranger)
        assert status == 200 and "no IP yet" in body.get("error", ""), body

    finally:
        operator.start()


async def _has_ip(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    pod = await core.read_namespaced_pod(name, namespace)
    return bool(pod.status and pod.status.pod_ip)
