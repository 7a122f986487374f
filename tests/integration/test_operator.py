"""The DLWSJob operator against a real control plane (etcd, apiserver, GC, scheduler, kwok)."""
import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes.aio import client
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import kube_api, resource, tokens
from dlws_contract.list_watch import ListWatch
from tests.integration.jobs import Jobs, eventually

pytestmark = pytest.mark.cluster


@pytest.fixture
def jobs(api: client.ApiClient, namespace: str, operator: Any) -> Jobs:
    return Jobs(api, namespace)


async def family_token(jobs: Jobs, root: str) -> str:
    secret = await jobs.core.read_namespaced_secret(resource.family_secret_name(root), jobs.ns)
    return base64.b64decode(secret.data[resource.SECRET_TOKEN_KEY]).decode()


async def test_root_job_gets_a_family_secret_and_digest_label(jobs: Jobs) -> None:
    await jobs.root("alpha")
    job = await jobs.family_ready("alpha")
    token = await family_token(jobs, "alpha")
    assert len(token) == 64
    assert job["metadata"]["labels"][resource.LABEL_FAMILY] == tokens.family_digest(token)
    assert job["status"]["familyDigest"] == tokens.family_digest(token)
    assert job["metadata"]["labels"][resource.LABEL_ROOT] == "alpha"


async def test_root_pod_runs_with_its_ip_in_status_and_token_from_the_secret(jobs: Jobs, cluster: Any) -> None:
    await jobs.root("beta")
    job = await jobs.running_with_ip("beta")
    pod = await jobs.core.read_namespaced_pod("beta", jobs.ns)
    env = {e.name: e for e in pod.spec.containers[0].env}
    assert env["FAMILY_TOKEN"].value is None
    assert env["FAMILY_TOKEN"].value_from.secret_key_ref.name == "beta-family-token"
    assert job["status"]["podIP"] == pod.status.pod_ip
    assert job["status"]["podName"] == "beta"
    out = cluster.kubectl("get", "dlwsjobs", "-n", jobs.ns).stdout
    assert "beta" in out and pod.status.pod_ip in out and "Running" in out


async def three_level_family(jobs: Jobs, root_name: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    await jobs.root(root_name)
    root = await jobs.family_ready(root_name)
    children = [await jobs.child(root, f"{root_name}-c{i}") for i in range(2)]
    grandchildren = [await jobs.child(c, f"{c['metadata']['name']}-g{j}") for c in children for j in range(2)]
    for j in [root, *children, *grandchildren]:
        await jobs.running_with_ip(j["metadata"]["name"])
    return root, children, grandchildren


async def gone(jobs: Jobs, names: list[str]) -> bool:
    left = {j["metadata"]["name"] for j in await jobs.list_jobs()} & set(names)
    pods = {p.metadata.name for p in await jobs.pods()} & set(names)
    return not left and not pods


async def test_handled_jobs_carry_no_operator_annotations(jobs: Jobs) -> None:
    """kopf's diff base and marker are not written (kopf_config.py): each was one more
    PATCH and watch event per job, and the diff base a second copy of the spec."""
    await jobs.root("delta")
    root = await jobs.family_ready("delta")
    await jobs.child(root, "delta-kid")
    for name in ("delta", "delta-kid"):
        job = await jobs.running_with_ip(name)
        annotations = job["metadata"].get("annotations") or {}
        assert not [k for k in annotations if k.startswith(f"operator.{resource.GROUP}/")], annotations


async def test_killing_the_root_removes_every_job_pod_and_the_secret(jobs: Jobs) -> None:
    root, children, grandchildren = await three_level_family(jobs, "fam")
    names = [j["metadata"]["name"] for j in [root, *children, *grandchildren]]
    await jobs.delete("fam")
    await eventually(lambda: gone(jobs, names), timeout=90, what="the whole family to be gone")
    await eventually(lambda: _no_secret(jobs, "fam-family-token"), timeout=60, what="family secret gone")


async def _no_secret(jobs: Jobs, name: str) -> bool:
    return name not in {s.metadata.name for s in await jobs.secrets()}


async def test_killing_a_middle_job_removes_only_its_subtree(jobs: Jobs) -> None:
    root, children, grandchildren = await three_level_family(jobs, "mid")
    victim = children[0]["metadata"]["name"]
    subtree = [victim, f"{victim}-g0", f"{victim}-g1"]
    await jobs.delete(victim)
    await eventually(lambda: gone(jobs, subtree), timeout=90, what="the subtree to be gone")
    survivors = ["mid", children[1]["metadata"]["name"], f"{children[1]['metadata']['name']}-g0"]
    for name in survivors:
        job = await jobs.get(name)
        assert job is not None and job["status"]["phase"] == "Running"


@dataclass
class StatusWrites:
    """A ListWatch cache of a namespace's DLWSJobs that keeps every status each job has
    shown, in etcd's order, and which jobs are gone."""
    statuses: dict[str, list[str]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)

    def replace_all(self, objects: list[tuple[str, str]]) -> None:
        for obj in objects:
            self.upsert(obj)

    def upsert(self, obj: tuple[str, str]) -> None:
        self.statuses.setdefault(obj[0], []).append(obj[1])

    def remove(self, obj: tuple[str, str]) -> None:
        self.removed.add(obj[0])


@contextlib.asynccontextmanager
async def status_writes(jobs: Jobs) -> AsyncIterator[StatusWrites]:
    seen = StatusWrites()
    watch = ListWatch(jobs.api, kube_api.job_path(jobs.ns), seen,
                      lambda o: (o["metadata"]["name"], json.dumps(o.get("status") or {}, sort_keys=True)),
                      request_timeout=30, what="jobs")
    task = asyncio.create_task(watch.run())
    try:
        await asyncio.wait_for(watch.synced.wait(), 30)
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_killed_job_shows_killing_while_the_cascade_runs(jobs: Jobs) -> None:
    await jobs.root("slow")
    root = await jobs.family_ready("slow")
    child = await jobs.child(root, "slow-c")
    await jobs.running_with_ip("slow-c")
    # A finalizer on the child's pod holds the cascade still, so Killing can be observed.
    hold = {"metadata": {"finalizers": ["test.dlworkspace.io/hold"]}}
    await jobs.core.patch_namespaced_pod("slow-c", jobs.ns, hold)
    async with status_writes(jobs) as seen:
        await jobs.delete("slow")
        await jobs.with_status("slow", lambda s: s.get("phase") == "Killing", what="root Killing")

        # The job below shows its kill by its deletionTimestamp (the Killed column); the
        # operator writes no status for it, only for the job the kill named.
        async def child_deleting() -> dict[str, Any] | None:
            job = await jobs.get("slow-c")
            return job if job is not None and job["metadata"].get("deletionTimestamp") else None
        await eventually(child_deleting, timeout=60, what="the child being deleted")
        table = await kube_api.request(jobs.api, "GET", kube_api.job_path(jobs.ns, "slow-c"), timeout=30,
                                       accept=kube_api.TABLE)
        columns = [c["name"] for c in table["columnDefinitions"]]
        assert table["rows"][0]["cells"][columns.index("Killed")], table["rows"]
        await jobs.core.patch_namespaced_pod("slow-c", jobs.ns, {"metadata": {"finalizers": None}},
                                             _content_type="application/merge-patch+json")
        await eventually(lambda: gone(jobs, ["slow", "slow-c"]), timeout=90, what="family gone")

        async def watched_gone() -> bool:
            return "slow-c" in seen.removed
        await eventually(watched_gone, timeout=30, what="the watch seeing the child gone")

    # Every status the child showed, from before the kill to its removal (a write can land
    # only before it): Running, as before the kill. Which job a kill marks is decided in
    # tests/unit/test_operator_decisions.py.
    assert len(set(seen.statuses["slow-c"])) == 1, seen.statuses["slow-c"]
    assert '"phase": "Running"' in seen.statuses["slow-c"][0]
    assert child["metadata"]["name"] == "slow-c"


async def test_a_child_made_under_a_job_being_killed_gets_no_pod_and_shows_killing(jobs: Jobs) -> None:
    await jobs.root("doomed")
    root = await jobs.family_ready("doomed")
    # A finalizer and a background delete keep the root being deleted, and its new child
    # alive meanwhile (the garbage collector waits for the owner to be gone).
    hold = {"metadata": {"finalizers": ["test.dlworkspace.io/hold"]}}
    await jobs.custom.patch_namespaced_custom_object(resource.GROUP, resource.VERSION, jobs.ns,
                                                     resource.PLURAL, "doomed", hold,
                                                     _content_type="application/merge-patch+json")
    await jobs.delete("doomed", policy="Background")
    await jobs.child(root, "doomed-c")
    job = await jobs.with_status("doomed-c", lambda s: s.get("phase") == "Killing", what="Killing")
    assert job["status"]["reason"] == "AncestorKilled" and "doomed" in job["status"]["message"]
    assert "doomed-c" not in {p.metadata.name for p in await jobs.pods()}
    await jobs.custom.patch_namespaced_custom_object(resource.GROUP, resource.VERSION, jobs.ns,
                                                     resource.PLURAL, "doomed", {"metadata": {"finalizers": None}},
                                                     _content_type="application/merge-patch+json")
    await eventually(lambda: gone(jobs, ["doomed", "doomed-c"]), timeout=90, what="family gone")


@pytest.mark.parametrize("outcome", ["Succeeded", "Failed"])
async def test_a_pod_that_finishes_is_reflected(jobs: Jobs, outcome: str) -> None:
    name = f"done-{outcome.lower()}"
    await jobs.root(name)
    await jobs.running_with_ip(name)
    await jobs.core.patch_namespaced_pod(
        name, jobs.ns, {"metadata": {"annotations": {"devcluster.dlworkspace.io/complete": outcome}}})
    job = await jobs.with_status(name, lambda s: s.get("phase") == outcome, what=outcome)
    assert job["status"]["completionTime"]
    assert job["status"]["conditions"][0]["status"] == "False"


async def test_restarting_the_operator_mid_burst_leaves_one_pod_per_job(jobs: Jobs, operator: Any) -> None:
    await jobs.root("burst")
    root = await jobs.family_ready("burst")
    names = [f"burst-{i}" for i in range(30)]

    async def submit_all() -> None:
        for name in names:
            await jobs.child(root, name)

    submitting = asyncio.create_task(submit_all())
    await eventually(lambda: _count_pods(jobs, 5), timeout=60, what="some pods")
    operator.restart(kill=True)  # SIGKILL: no graceful shutdown
    await submitting
    for name in ["burst", *names]:
        await jobs.running_with_ip(name, timeout=120)
    pods = [p.metadata.name for p in await jobs.pods()]
    assert sorted(pods) == sorted(["burst", *names])
    secrets = [s.metadata.name for s in await jobs.secrets() if s.metadata.name.endswith("-family-token")]
    assert secrets == ["burst-family-token"]


async def _count_pods(jobs: Jobs, n: int) -> bool:
    return len(await jobs.pods()) >= n


async def test_a_hand_made_child_with_a_forged_family_does_not_run(jobs: Jobs) -> None:
    await jobs.root("real")
    root = await jobs.family_ready("real")
    forged = dict(root)
    forged["metadata"] = {**root["metadata"], "labels": {**root["metadata"]["labels"],
                                                         resource.LABEL_FAMILY: "f" * 63}}
    await jobs.child(forged, "forged")
    job = await jobs.with_status("forged", lambda s: s.get("phase") == "Failed", what="refusal")
    assert job["status"]["reason"] == "InvalidFamily"
    assert "forged" not in {p.metadata.name for p in await jobs.pods()}


async def test_a_root_with_a_forged_family_label_gets_its_own(jobs: Jobs) -> None:
    body_label = "a" * 63
    await jobs.create({"apiVersion": resource.API_VERSION, "kind": resource.KIND,
                       "metadata": {"name": "liar", "labels": {resource.LABEL_FAMILY: body_label}},
                       "spec": {"jobName": "x", "image": "busybox", "jobType": "training"}})
    job = await eventually(lambda: _own_digest(jobs, "liar"), what="the operator's own digest")
    assert job["metadata"]["labels"][resource.LABEL_FAMILY] != body_label


async def _own_digest(jobs: Jobs, name: str) -> dict[str, Any] | None:
    job = await jobs.get(name)
    if not job or not (job.get("status") or {}).get("familyDigest"):
        return None
    token = await family_token(jobs, name)
    return job if job["metadata"]["labels"][resource.LABEL_FAMILY] == tokens.family_digest(token) else None


@pytest.mark.parametrize("spec, message", [
    ({"resourcegpu": -1}, "resourcegpu"),
    ({"jobtrainingtype": "MPIDistJob"}, "MPIDistJob is not supported"),
    ({"jobtrainingtype": "PSDistJob"}, "a PSDistJob needs numps and numpsworker"),
    ({"jobtrainingtype": "PSDistJob", "numps": 0, "numpsworker": 1}, "spec.numps"),
    ({"jobtrainingtype": "PSDistJob", "numps": 1, "numpsworker": -1}, "spec.numpsworker"),
    ({"jobtrainingtype": "PSDistJob", "numps": 1, "numpsworker": 1.5}, "spec.numpsworker"),
    ({"numps": 1}, "apply only to jobtrainingtype PSDistJob"),
    ({"jobtrainingtype": "PSDistJob", "numps": 1, "numpsworker": 1, "env": {"RANK": "1"}}, "reserved in a PSDistJob"),
    ({"image": ""}, "image"),
    ({"env": {"FAMILY_TOKEN": "x"}}, "reserved"),
    ({"env": {"1BAD": "x"}}, "valid variable names"),
    ({"interactivePorts": [70000]}, "interactivePorts"),
])
async def test_invalid_specs_are_refused_with_a_clear_message(jobs: Jobs, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiException) as err:
        await jobs.root("bad", **spec)
    assert err.value.status == 422
    assert message in str(err.value.body)
    assert await jobs.get("bad") is None


async def test_spec_is_immutable(jobs: Jobs) -> None:
    await jobs.root("fixed")
    with pytest.raises(ApiException) as err:
        await jobs.custom.patch_namespaced_custom_object(
            resource.GROUP, resource.VERSION, jobs.ns, resource.PLURAL, "fixed", {"spec": {"cmd": "rm -rf /"}},
            _content_type="application/merge-patch+json")
    assert err.value.status == 422 and "immutable" in str(err.value.body)


async def test_job_names_must_be_label_values(jobs: Jobs) -> None:
    with pytest.raises(ApiException) as err:
        await jobs.root("x" * 64)
    assert err.value.status == 422


@pytest.mark.parametrize(("field", "value"), [("workPath", "../bob"), ("dataPath", "/etc"), ("jobPath", "a\\.b"),
                                              ("jobPath", "\\share")])
async def test_the_crd_refuses_a_storage_path_against_dlws_rules(jobs: Jobs, field: str, value: str) -> None:
    with pytest.raises(ApiException) as refused:
        await jobs.root("bad-path", **{field: value})
    assert refused.value.status == 422 and field in str(refused.value.body), refused.value.body


async def test_a_root_whose_user_names_no_directory_gets_no_pod(jobs: Jobs) -> None:
    await jobs.root("slashed", userName="a/b")
    job = await jobs.with_status("slashed", lambda s: s.get("phase") == "Failed", what="refusal")
    assert job["status"]["reason"] == "InvalidPath" and "userName" in job["status"]["message"]
    assert "slashed" not in {p.metadata.name for p in await jobs.pods()}
