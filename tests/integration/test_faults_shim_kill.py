"""SIGKILL a shim in the middle of a burst: every jobId it answered names a job that
exists, and the only jobs no caller heard of are requests that were in flight."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes.aio import client

from tests.integration.faults import UNLIMITED, Burst, family_jobs, report, scaled
from tests.integration.jobs import Jobs
from tests.integration.shim_fixture import make_root

pytestmark = pytest.mark.cluster

SUBMISSIONS = scaled(200, 1000)
CONCURRENCY = 20


async def test_shim_killed_mid_burst_answers_only_jobs_that_exist(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any) -> None:
    shim = extra_shim(*UNLIMITED)
    jobs = Jobs(api, namespace)
    root = await make_root(api, namespace)

    burst = Burst(shim.url, root.token, SUBMISSIONS, CONCURRENCY)
    submitting = asyncio.create_task(burst.run())
    await burst.until_answered(SUBMISSIONS // 3)
    in_flight = burst.in_flight
    shim.stop(kill=True)  # SIGKILL: requests in flight get no answer
    await submitting

    told = set(burst.job_ids())
    existing = {j["metadata"]["name"] for j in await family_jobs(jobs, root.digest)} - {root.name}
    unanswered = sum(1 for a in burst.answers if a.status is None)
    orphans = existing - told
    assert told <= existing, f"answered but missing: {sorted(told - existing)[:5]}"
    assert len(orphans) <= in_flight
    assert all(a.status in (200, None) for a in burst.answers)
    report("shim SIGKILL mid-burst", submissions=SUBMISSIONS, concurrency=CONCURRENCY, shim_kills=1,
           answered_with_job_id=len(told), unanswered=unanswered, in_flight_at_kill=in_flight,
           jobs_existing=len(existing), answered_but_missing=len(told - existing),
           in_flight_orphans=len(orphans))
