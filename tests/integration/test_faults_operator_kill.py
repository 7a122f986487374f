"""SIGKILL the operator in the middle of a burst of submissions through the shim, and while
it is making family tokens: after a restart every job has exactly one Pod and runs with
an IP, and no family token was made twice."""
from __future__ import annotations

import asyncio
import base64
from collections import Counter
from typing import Any

import pytest
from kubernetes.aio import client

from dlws_contract import resource, tokens
from tests.integration.faults import UNLIMITED, Burst, all_running, family_jobs, report, scaled
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import make_root

pytestmark = pytest.mark.cluster

SUBMISSIONS = scaled(200, 1000)
CONCURRENCY = 20
ROOTS_DURING_KILL = 5


async def family_secrets(jobs: Jobs) -> dict[str, tuple[str, str]]:
    """root name -> (Secret uid, digest of its token), for every family Secret."""
    found = {}
    for secret in await jobs.secrets():
        labels = secret.metadata.labels or {}
        if labels.get(resource.LABEL_COMPONENT) == "family-token":
            token = base64.b64decode(secret.data[resource.SECRET_TOKEN_KEY]).decode()
            found[labels[resource.LABEL_ROOT]] = (secret.metadata.uid, tokens.family_digest(token))
    return found


async def test_operator_killed_mid_burst_leaves_one_pod_per_job_and_one_token_per_family(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any) -> None:
    shim = extra_shim(*UNLIMITED)
    jobs = Jobs(api, namespace)
    root = await make_root(api, namespace)
    secret_before = (await family_secrets(jobs))[root.name]

    burst = Burst(shim.url, root.token, SUBMISSIONS, CONCURRENCY)
    submitting = asyncio.create_task(burst.run())
    await burst.until_answered(SUBMISSIONS // 4)
    # Roots whose tokens the operator is making at the moment it dies.
    new_roots = [(await jobs.root())["metadata"]["name"] for _ in range(ROOTS_DURING_KILL)]
    pods_at_kill = len(await jobs.pods())
    operator.restart(kill=True)  # SIGKILL, then a fresh process
    await submitting

    submitted = burst.job_ids()
    assert len(submitted) == SUBMISSIONS, [a for a in burst.answers if not a.job_id][:3]
    names = {root.name, *submitted, *new_roots}
    await eventually(lambda: all_running(jobs, names), timeout=scaled(180, 600),
                     what=f"{len(names)} jobs Running with an IP")

    pods = await jobs.pods()
    owners = Counter(ref.uid for p in pods for ref in p.metadata.owner_references or [])
    job_uids = {j["metadata"]["uid"] for j in await jobs.list_jobs()}
    assert len(pods) == len(names) and set(owners) == job_uids and set(owners.values()) == {1}

    secrets = await family_secrets(jobs)
    assert set(secrets) == {root.name, *new_roots}  # one Secret per root
    assert secrets[root.name] == secret_before  # the live family's token untouched
    for name in new_roots:  # each root labelled with the digest of the one token stored
        job = await jobs.get(name)
        assert job is not None
        assert job["metadata"]["labels"][resource.LABEL_FAMILY] == secrets[name][1]
        assert job["status"]["familyDigest"] == secrets[name][1]
    assert len(await family_jobs(jobs, root.digest)) == SUBMISSIONS + 1
    report("operator SIGKILL mid-burst", submissions=SUBMISSIONS, concurrency=CONCURRENCY,
           operator_kills=1, pods_when_killed=pods_at_kill, roots_made_during_kill=ROOTS_DURING_KILL,
           jobs=len(names), pods=len(pods), jobs_lost=len(names) - len(pods), family_secrets=len(secrets))
