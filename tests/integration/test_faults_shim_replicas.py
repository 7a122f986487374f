"""Two shim replicas serving one family at once.

Each replica counts a family's live jobs from its own watch-fed index plus the creates
it has in flight itself; it learns of the other replica's jobs only when its watch
delivers them. So with R replicas, a live-job limit N and L0 live jobs when a burst
begins, each replica admits at most N - L0 jobs of the burst: the family holds at most
L0 + R * (N - L0) jobs, an overshoot of at most (R - 1) * (N - L0). (This assumes the
watch delivers a replica's own job within its 60 s reservation.) Once the watches have
caught up, no replica admits a job over the limit. No job is ever made twice.
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes.aio import client

from tests.integration.faults import Burst, family_jobs, report, scaled
from tests.integration.jobs import Jobs
from tests.integration.shim_fixture import make_root

pytestmark = pytest.mark.cluster

REPLICAS = 2
LIMIT = 10
PER_REPLICA = 20
ROUNDS = scaled(2, 10)


async def test_two_replicas_bound_a_familys_overshoot_and_make_no_duplicates(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any) -> None:
    flags = ("--max-live-jobs", str(LIMIT), "--submit-rate", "10000", "--submit-burst", "10000")
    shims = [extra_shim(*flags) for _ in range(REPLICAS)]
    jobs = Jobs(api, namespace)
    bound = 1 + REPLICAS * (LIMIT - 1)
    worst = 0
    for _ in range(ROUNDS):
        root = await make_root(api, namespace)
        bursts = [Burst(s.url, root.token, PER_REPLICA, PER_REPLICA) for s in shims]
        await asyncio.gather(*(b.run() for b in bursts))

        accepted = [job for b in bursts for job in b.job_ids()]
        existing = {j["metadata"]["name"] for j in await family_jobs(jobs, root.digest)} - {root.name}
        assert len(accepted) == len(set(accepted)) and set(accepted) == existing  # no duplicates
        assert all(a.status in (200, 429) for b in bursts for a in b.answers)
        assert 1 + len(existing) <= bound
        worst = max(worst, 1 + len(existing) - LIMIT)

        # The watches have caught up (each replica's index holds all jobs): no more.
        for shim in shims:
            late = Burst(shim.url, root.token, 3, 1)
            await late.run()
            assert [a.status for a in late.answers] == [429] * 3
    report("two shim replicas, one family", replicas=REPLICAS, live_job_limit=LIMIT, rounds=ROUNDS,
           concurrent_submissions_per_round=REPLICAS * PER_REPLICA, stated_bound_jobs=bound,
           worst_overshoot=worst, duplicates=0)
