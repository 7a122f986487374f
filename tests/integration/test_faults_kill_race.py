"""KillJob racing SubmitJob: no child made after a kill above it began is answered or
gets a Pod.

etcd's revision orders every write, and resourceVersions from one etcd compare as
integers. Watches on the DLWSJobs and the Pods, started before the races, record the
revision of the write that set each job's deletionTimestamp (where its kill began), of
each child's create and of each Pod's create. Then, in revision order:
- no answered child was created after a kill above it began: the shim reads the chain
  after the create and before it answers (Family.create_below), so a kill before the
  create is seen; a child created before the kill but answered after it is fine, the
  kill takes it by garbage collection;
- no child created after a kill above it began gets a Pod: the operator learns of the
  child from its watch, after the create, and reads the chain right before the Pod's
  create (ancestry.py), so it sees that kill.
What remains: a child created before the kill may get its Pod after it, when the kill is
written between the operator's reads and its Pod create (a check on some objects and a
write of another, which Kubernetes cannot make atomic). Those Pods are counted, with how
many revisions after the kill they came, and must be gone with the rest once the kills
are done; the operator's dlws_operator_pod_create_window_seconds gives the window's
length in time.

Two kinds of races, half each, all at once: the killed job is the parent of the
submissions, or two levels up (they go under a child of the killed job). Each race kills
its own job while SUBMITS_PER_RACE submissions land 0 to SPREAD s after the kill.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from kubernetes.aio import client

from tests.integration.faults import UNLIMITED, JOB, all_running, report, scaled
from tests.integration.jobs import Jobs, eventually
from tests.integration.revisions import Watching
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster

RACES = scaled(10, 200)  # half with the parent killed, half with the grandparent
SUBMITS_PER_RACE = 6
# The last race's submissions land up to this many seconds after its kill.
SPREAD = 1.0


# --- the races ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Race:
    killed: str   # the job KillJob is called on
    parent: str   # the job the submissions go under: killed itself, or a child of it


@dataclass
class Outcome:
    answered: list[str] = field(default_factory=list)   # jobIds
    refused: int = 0         # "being killed"
    parent_gone: int = 0     # "Could not find parent job": the kill had finished
    other: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


async def submit_after(shim: ShimClient, token: str, parent: str, offset: float) -> tuple[int, dict[str, Any], Any]:
    await asyncio.sleep(offset)  # not a wait for readiness: where in the race this one lands
    return await shim.call("SubmitJob", token, parentJobId=parent, **JOB)


async def run_race(shim: ShimClient, token: str, race: Race, spread: float, outcome: Outcome) -> None:
    """Submits under race.parent while killing race.killed, the submissions spread over
    `spread` seconds from the kill on."""
    offsets = [spread * i / SUBMITS_PER_RACE for i in range(SUBMITS_PER_RACE)]
    kill = shim.call("KillJob", token, jobId=race.killed)
    answers = await asyncio.gather(kill, *(submit_after(shim, token, race.parent, o) for o in offsets))
    kill_status, kill_body, _ = answers[0]
    assert kill_status == 200 and kill_body.get("result", "").startswith("Success"), kill_body
    for status, body, _ in answers[1:]:
        if status == 200 and "jobId" in body:
            outcome.answered.append(str(body["jobId"]))
        elif status == 200 and "being killed" in body.get("error", ""):
            outcome.refused += 1
        elif status == 200 and "Could not find parent job" in body.get("error", ""):
            outcome.parent_gone += 1
        else:
            outcome.other.append((status, body))


async def make_races(shim: ShimClient, token: str) -> list[Race]:
    """RACES // 2 children of the root, killed under their submissions; as many more, each
    with a child of its own that the submissions go under."""
    half = RACES // 2
    parents = [str((await shim.submit(token))["jobId"]) for _ in range(RACES - half)]
    grandparents = [str((await shim.submit(token))["jobId"]) for _ in range(half)]
    middles = [str((await shim.submit(token, parentJobId=g))["jobId"]) for g in grandparents]
    return [Race(p, p) for p in parents] + [Race(g, m) for g, m in zip(grandparents, middles)]


def scrape(text: str, name: str) -> dict[str, float]:
    """The samples of one metric family in a Prometheus exposition, by their full name
    with labels."""
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith(name)}


def bucket_quantile(before: dict[str, float], after: dict[str, float], name: str, q: float) -> str:
    """The upper bound of the histogram bucket holding quantile q of the observations
    made between two scrapes."""
    bounds = sorted((float(k.split('le="')[1].rstrip('"}')), after[k] - before.get(k, 0.0))
                    for k in after if k.startswith(f"{name}_bucket"))
    total = bounds[-1][1] if bounds else 0.0
    for bound, count in bounds:
        if total and count >= q * total:
            return f"<= {bound * 1000:g} ms"
    return "none"


async def test_no_child_of_a_job_being_killed_gets_a_pod_or_a_job_id(
        api: client.ApiClient, namespace: str, operator: Any, extra_shim: Any,
        http: aiohttp.ClientSession) -> None:
    shim = ShimClient(http, extra_shim(*UNLIMITED).url)
    jobs = Jobs(api, namespace)
    window = "dlws_operator_pod_create_window_seconds"
    async with http.get(operator.metrics_url) as resp:  # the window: of every Pod made here
        metrics_before = await resp.text()
    root = await make_root(api, namespace)
    races = await make_races(shim, root.token)
    await eventually(lambda: all_running(jobs, {r.parent for r in races} | {r.killed for r in races}),
                     timeout=scaled(60, 300), what="every job of the races Running")

    outcome = Outcome()
    t0 = time.monotonic()
    async with Watching(api, namespace) as seen:
        # From all submissions landing with the kill to some landing well after it.
        await asyncio.gather(*(run_race(shim, root.token, race, SPREAD * i / len(races), outcome)
                               for i, race in enumerate(races)))
        killed = {r.killed for r in races}

        async def all_gone() -> bool:
            below = {j for j in seen.jobs.owner if set(seen.jobs.above(j)) & killed}
            return (killed | below) <= seen.jobs.gone and all(
                p in seen.pods.gone for p, job in seen.pods.owner.items() if job in killed | below)
        await eventually(all_gone, timeout=scaled(120, 600), what="every killed job, child and pod gone")
    seconds_until_all_gone = round(time.monotonic() - t0, 1)
    async with http.get(operator.metrics_url) as resp:
        metrics_after = await resp.text()

    assert seen.jobs.lists == 1 and seen.pods.lists == 1, "a watch listed again: events may be missing"
    assert outcome.other == []
    assert set(outcome.answered) <= seen.jobs.created.keys()  # also: gone (all_gone above)
    parents = {r.parent for r in races}
    children = {j for j, parent in seen.jobs.owner.items() if parent in parents and j in seen.jobs.created}
    late = {j for j in children if seen.jobs.after_kill(j, seen.jobs.created[j])}  # created after a kill began
    answered_late = [j for j in outcome.answered if j in late]
    child_pods = {p: str(job) for p, job in seen.pods.owner.items() if job in children}
    pods_of_late = [p for p, job in child_pods.items() if job in late]
    in_window = {p: (seen.pods.created[p], began) for p, job in child_pods.items()
                 if (began := seen.jobs.kill_began(job)) and seen.jobs.after_kill(job, seen.pods.created[p])}
    root_job = await jobs.get(root.name)
    assert root_job is not None and root_job["status"]["phase"] == "Running"  # the kills stayed below

    withheld_before, withheld_after = (scrape(m, "dlws_operator_pods_withheld_total")
                                       for m in (metrics_before, metrics_after))
    windows_before, windows_after = scrape(metrics_before, window), scrape(metrics_after, window)
    count = windows_after.get(f"{window}_count", 0) - windows_before.get(f"{window}_count", 0)
    total = windows_after.get(f"{window}_sum", 0) - windows_before.get(f"{window}_sum", 0)
    report("KillJob racing SubmitJob, parent or grandparent killed", races=len(races),
           submissions=len(races) * SUBMITS_PER_RACE,
           answered=len(outcome.answered), refused=outcome.refused, refused_parent_gone=outcome.parent_gone,
           children_created=len(children), children_created_after_kill_began=len(late),
           answered_created_after_kill_began=len(answered_late),
           child_pods_created=len(child_pods), pods_of_children_created_after_kill_began=len(pods_of_late),
           pods_withheld={k.split('"')[1]: v - withheld_before.get(k, 0.0) for k, v in withheld_after.items()
                          if 'by="' in k},
           # The remaining window: Pods of children made before a kill, created after it.
           child_pods_created_after_kill_began=len(in_window),
           window_revisions_after_kill_max=max((p.revision - k.revision for p, k in in_window.values()), default=0),
           pod_create_window={"n": count, "mean_ms": round(1000 * total / count, 2) if count else None,
                              "p50": bucket_quantile(windows_before, windows_after, window, 0.5),
                              "p99": bucket_quantile(windows_before, windows_after, window, 0.99)},
           seconds_until_all_gone=seconds_until_all_gone)
    assert answered_late == [], "answered with a jobId, though created after a kill above it began"
    assert pods_of_late == [], "Pods made for children created after a kill above them began"
