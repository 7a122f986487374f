"""Concurrent submissions meet their family's live-job limit against a real API server: the
jobs the watch has not delivered yet count too, and the cluster holds exactly the allowed
number. Each limit's answer (429, its message, Retry-After, per family) is proved once on
the in-memory store, in tests/unit/test_shim_http.py."""
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


async def test_concurrent_submissions_do_not_pass_the_live_job_limit(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any, http: Any) -> None:
    shim = extra_shim("--max-live-jobs", "4", "--submit-rate", "1000", "--submit-burst", "1000")
    root = await make_root(api, namespace)
    shim_client = ShimClient(http, shim.url)
    answers = await asyncio.gather(*(shim_client.call("SubmitJob", root.token, **JOB) for _ in range(15)))
    assert sorted(status for status, _, _ in answers) == [200] * 3 + [429] * 12
    assert await family_size(api, namespace, root.digest) == 4
