"""KillJob racing SubmitJobs under the same parent: no child outlives its parent's kill.

The shim refuses children of a job it knows is being deleted, but its index may lag; a
child it then creates still names the parent as owner (ownerReference with
blockOwnerDeletion, in the create call itself), and the garbage collector deletes
dependents of an owner that is being deleted in the foreground or is already gone.
Each race runs on its own parent, many at once.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from kubernetes.aio import client

from dlws_contract import resource
from tests.integration.faults import UNLIMITED, JOB, report, scaled
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster

RACES = scaled(10, 200)
SUBMITS_PER_RACE = 6
# The last race's submissions land up to this many seconds after its kill.
SPREAD = 1.0


async def submit_after(shim: ShimClient, token: str, parent: str, offset: float) -> tuple[int, dict[str, Any], Any]:
    await asyncio.sleep(offset)  # not a wait for readiness: where in the race this one lands
    return await shim.call("SubmitJob", token, parentJobId=parent, **JOB)


async def race(shim: ShimClient, token: str, parent: str, spread: float) -> list[str]:
    """Submits under `parent` while killing it, the submissions spread over `spread`
    seconds from the kill on; the jobIds that were answered."""
    offsets = [spread * i / SUBMITS_PER_RACE for i in range(SUBMITS_PER_RACE)]
    kill = shim.call("KillJob", token, jobId=parent)
    answers = await asyncio.gather(kill, *(submit_after(shim, token, parent, o) for o in offsets))
    kill_status, kill_body, _ = answers[0]
    assert kill_status == 200 and kill_body.get("result", "").startswith("Success"), kill_body
    return [body["jobId"] for status, body, _ in answers[1:] if status == 200 and "jobId" in body]


async def survivors(jobs: Jobs, parents: set[str]) -> set[str]:
    """Jobs and pods of the killed parents or below them that still exist."""
    left = {j["metadata"]["name"] for j in await jobs.list_jobs()
            if j["metadata"]["name"] in parents
            or (j["metadata"].get("labels") or {}).get(resource.LABEL_PARENT) in parents}
    pods = {p.metadata.name for p in await jobs.pods()
            if (p.metadata.labels or {}).get(resource.LABEL_JOB) in parents | left}
    return left | pods


async def test_no_child_survives_a_kill_racing_its_submission(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any,
        http: aiohttp.ClientSession) -> None:
    shim = ShimClient(http, extra_shim(*UNLIMITED).url)
    jobs = Jobs(api, namespace)
    root = await make_root(api, namespace)
    parents = [str((await shim.submit(root.token))["jobId"]) for _ in range(RACES)]
    await jobs.with_status(parents[-1], lambda s: s.get("phase") == "Running", what="Running")

    # From all submissions landing with the kill to some landing well after it.
    children = await asyncio.gather(*(race(shim, root.token, p, spread=SPREAD * i / RACES)
                                      for i, p in enumerate(parents)))

    made = sum(len(c) for c in children)
    t0 = time.monotonic()
    await eventually(lambda: _none(survivors(jobs, set(parents))), timeout=scaled(120, 600),
                     what="every killed parent and child gone")
    root_job = await jobs.get(root.name)
    assert root_job is not None and root_job["status"]["phase"] == "Running"  # the kill stayed below
    report("KillJob racing SubmitJob under one parent", races=RACES,
           submissions=RACES * SUBMITS_PER_RACE, children_created_during_races=made,
           refused=RACES * SUBMITS_PER_RACE - made,
           children_surviving=0, seconds_until_all_gone=round(time.monotonic() - t0, 1))


async def _none(found: Any) -> bool:
    return not await found
