"""Ended families are deleted ttlSecondsAfterFinished after their end, never above a job
that still runs (operator/dlws_operator/cleanup.py; which jobs, decisions.cleanup, is
unit-tested). Each job sets its own small TTL: the session's operator keeps the default
(none), so nothing else of the session goes."""
from __future__ import annotations

from typing import Any

import pytest
from kubernetes.aio import client

from dlws_contract import resource
from tests.integration.jobs import Jobs, eventually

pytestmark = pytest.mark.cluster

COMPLETE = "devcluster.dlworkspace.io/complete"  # kwok ends the Pod so (devcluster/nodes.py)


@pytest.fixture
def jobs(api: client.ApiClient, namespace: str, operator: Any) -> Jobs:
    return Jobs(api, namespace)


async def finish(jobs: Jobs, name: str) -> None:
    await jobs.running_with_ip(name)
    await jobs.core.patch_namespaced_pod(name, jobs.ns, {"metadata": {"annotations": {COMPLETE: "Succeeded"}}})
    await jobs.with_status(name, lambda s: bool(s.get("completionTime")), what="ended")


async def names(jobs: Jobs) -> set[str]:
    jobs_left = {j["metadata"]["name"] for j in await jobs.list_jobs()}
    return jobs_left | {p.metadata.name for p in await jobs.pods()} | {s.metadata.name for s in await jobs.secrets()}


async def family(jobs: Jobs, prefix: str, ttl: int) -> list[str]:
    root = await jobs.root(f"{prefix}-root", ttlSecondsAfterFinished=ttl)
    root = await jobs.family_ready(root["metadata"]["name"])
    child = await jobs.child(root, f"{prefix}-child", ttlSecondsAfterFinished=ttl)
    await jobs.child(child, f"{prefix}-grandchild", ttlSecondsAfterFinished=ttl)
    return [f"{prefix}-root", f"{prefix}-child", f"{prefix}-grandchild"]


async def test_a_finished_three_level_family_is_gone_after_its_ttl(jobs: Jobs) -> None:
    made = await family(jobs, "ttl", 2)
    for name in reversed(made):
        await finish(jobs, name)
    secret = resource.family_secret_name("ttl-root")
    assert secret in await names(jobs)

    async def all_gone() -> bool:
        return not (await names(jobs)) & {*made, secret}
    await eventually(all_gone, timeout=60, what="the family, its pods and its Secret gone")


async def test_a_running_grandchild_holds_its_finished_parents(jobs: Jobs) -> None:
    made = await family(jobs, "held", 1)
    root = await jobs.get("held-root")
    assert root is not None
    await finish(jobs, "held-child")
    await finish(jobs, "held-root")
    # A finished branch beside them, ended last: once it is gone, the TTL of the others
    # has passed too, and the sweep has decided on them.
    await jobs.child(root, "held-other", ttlSecondsAfterFinished=1)
    await finish(jobs, "held-other")

    async def other_gone() -> bool:
        return await jobs.get("held-other") is None
    await eventually(other_gone, timeout=60, what="the finished branch gone")
    assert {*made, resource.family_secret_name("held-root")} <= await names(jobs)
    grandchild = await jobs.get("held-grandchild")
    assert grandchild is not None and grandchild["status"]["phase"] == "Running"
