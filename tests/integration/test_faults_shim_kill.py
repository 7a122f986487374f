"""SIGKILL a shim in the middle of a burst: every jobId it answered names a job that
exists, and the only jobs no caller heard of are requests that were in flight; callers
that retry with an idempotency key (dlws_client) are left with no such job at all."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import dlws_client
import pytest
from kubernetes.aio import client

from tests.integration.faults import JOB, UNLIMITED, Burst, family_jobs, report, scaled
from tests.integration.jobs import Jobs, eventually
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


async def test_shim_killed_mid_burst_of_client_callers_leaves_no_orphan_and_no_duplicate(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any) -> None:
    """The same burst from callers that use dlws_client: each submission carries one
    idempotency key across its retries, so the requests in flight at the kill are retried
    against the shim started again, and find the job their first attempt made."""
    shim = extra_shim(*UNLIMITED)
    jobs = Jobs(api, namespace)
    root = await make_root(api, namespace)
    family = dlws_client.Family(shim.url, root.token, deadline=120.0, request_timeout=10.0)
    answered: list[dlws_client.Job] = []
    started = 0
    lock = threading.Lock()
    spec = {k: v for k, v in JOB.items() if k != "resourcegpu"}

    failures: list[BaseException] = []
    # The callers (threads) that backed off once the shim was down: their retry's wait.
    shim_down = threading.Event()
    backed_off: set[int] = set()

    def backoff_sleep(seconds: float) -> None:
        if shim_down.is_set():
            with lock:
                backed_off.add(threading.get_ident())
        time.sleep(seconds)
    family.transport.sleep = backoff_sleep

    def caller(count: int) -> None:
        nonlocal started
        try:
            for _ in range(count):
                with lock:
                    started += 1
                job = family.submit(**spec)
                with lock:
                    answered.append(job)
        except BaseException as e:  # reported by the assertion below
            failures.append(e)

    # Threads of their own: the loop's default executor (to_thread) has too few workers
    # for 20 callers blocked in their retries and the shim's start as well.
    callers = [threading.Thread(target=caller, args=(SUBMISSIONS // CONCURRENCY,)) for _ in range(CONCURRENCY)]
    for thread in callers:
        thread.start()
    while len(answered) < SUBMISSIONS // 3:
        await asyncio.sleep(0.01)
    with lock:
        in_flight = started - len(answered)
    shim_down.set()
    shim.stop(kill=True)

    async def every_caller_backed_off() -> bool:
        with lock:
            return bool(backed_off) and all(t.ident in backed_off for t in callers if t.is_alive())
    await eventually(every_caller_backed_off, timeout=30, interval=0.05,
                     what="every caller meeting the killed shim and backing off")
    await shim.start_async()
    for thread in callers:
        await asyncio.to_thread(thread.join)
    assert not failures, failures[:3]

    told = [job.id for job in answered]
    existing = {j["metadata"]["name"] for j in await family_jobs(jobs, root.digest)} - {root.name}
    orphans = existing - set(told)
    duplicates = len(told) - len(set(told))
    replayed = sum(1 for job in answered if job.replayed)
    report("shim SIGKILL mid-burst, dlws_client callers", submissions=SUBMISSIONS,
           concurrency=CONCURRENCY, shim_kills=1, in_flight_at_kill=in_flight,
           answered_with_job_id=len(told), replayed_answers=replayed, jobs_existing=len(existing),
           orphans=len(orphans), duplicates=duplicates)
    assert len(told) == SUBMISSIONS and duplicates == 0
    assert set(told) == existing, f"orphans {sorted(orphans)[:5]}, missing {sorted(set(told) - existing)[:5]}"
