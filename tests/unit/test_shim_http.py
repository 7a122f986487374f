"""The shim's HTTP behaviour, through aiohttp's test client.

The app runs on MemoryJobStore (the in-memory JobStore): these tests say what the routes
do with what the store answers, not what Kubernetes does. The integration tests
(tests/integration/test_shim_*.py) run the same operations against a real API server.
"""
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import yarl
from aiohttp.test_utils import TestClient

from api_shim.app import init_app
from api_shim.settings import Settings
from api_shim.store import Rejected, Unavailable
from dlws_contract import catch_up, resource, spec, tokens
from tests.memory_store import MemoryJobStore

TOKEN = tokens.new_token()
OTHER_TOKEN = tokens.new_token()
NS, OTHER_NS = "team-a", "team-b"
JOB = {"jobName": "child", "resourcegpu": "0", "dataPath": "imagenet", "image": "busybox",
       "jobType": "training"}
KILL_OK = "Success, the job is scheduled to be terminated."

Client = TestClient  # type: ignore[type-arg]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture(autouse=True)
def quick_index_catch_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """With index_lag the index never catches up: SubmitJob asks the API server sooner."""
    monkeypatch.setattr(catch_up, "CATCH_UP", 0.05)


@pytest.fixture
def store() -> MemoryJobStore:
    s = MemoryJobStore()
    s.add_root(NS, "root-a", tokens.family_digest(TOKEN))
    s.add_root(OTHER_NS, "root-b", tokens.family_digest(OTHER_TOKEN))
    s.calls.clear()
    return s


@pytest.fixture
def make_client(aiohttp_client: Any, store: MemoryJobStore) -> MakeClient:
    async def make(**settings: Any) -> Client:
        client: Client = await aiohttp_client(await init_app(Settings(**settings), store=store, index=store.index,
                                                                kills=store.kills))
        return client
    return make


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()


async def submit(client: Client, token: str = TOKEN, **extra: Any) -> dict[str, Any]:
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": token, **extra})
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def op(client: Client, name: str, job_id: str, token: str = TOKEN, **extra: Any) -> dict[str, Any]:
    resp = await client.get(f"/child/{name}", params={"jobId": job_id, "familyToken": token, **extra})
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def children(store: MemoryJobStore) -> list[dict[str, Any]]:
    return [o for o in store.objects.values() if resource.LABEL_PARENT in o["metadata"].get("labels", {})]


def raw_url(client: Client, path: str) -> yarl.URL:
    """A URL whose path is sent as written, e.g. with doubled slashes."""
    return yarl.URL(f"http://{client.host}:{client.port}{path}", encoded=True)


# --- paths and formats -----------------------------------------------------------------


async def test_unknown_path_is_404_json(client: Client) -> None:
    resp = await client.get(f"/child/Nope?familyToken={TOKEN}")
    assert resp.status == 404 and resp.content_type == "application/json"
    body = await resp.text()
    assert "error" in json.loads(body) and TOKEN not in body


async def test_other_methods_are_405_json(client: Client) -> None:
    resp = await client.put("/child/SubmitJob")
    assert resp.status == 405 and "error" in await resp.json()


@pytest.mark.parametrize("path", ["//child//SubmitJob", "//child/SubmitJob", "///SubmitJob", "/SubmitJob"])
async def test_submit_answers_with_slashes_doubled_or_child_left_out(client: Client, path: str) -> None:
    resp = await client.session.get(raw_url(client, path), params={**JOB, "familyToken": TOKEN},
                                    allow_redirects=False)
    assert resp.status == 200 and "jobId" in await resp.json()


async def test_kill_answers_at_root_with_a_doubled_slash(client: Client, store: MemoryJobStore) -> None:
    job_id = (await submit(client))["jobId"]
    # What `$DLWS_REST_API + "KillJob"` gives when DLWS_REST_API ends with "/".
    resp = await client.session.get(raw_url(client, "//KillJob"),
                                    params={"familyToken": TOKEN, "jobId": job_id}, allow_redirects=False)
    assert resp.status == 200 and (await resp.json())["result"] == KILL_OK


async def test_post_json_body(client: Client) -> None:
    resp = await client.post("/child/SubmitJob", json={**JOB, "resourcegpu": 0, "familyToken": TOKEN})
    assert "jobId" in await resp.json()


async def test_post_form_body(client: Client) -> None:
    resp = await client.post("/child/SubmitJob", data={**JOB, "familyToken": TOKEN})
    assert "jobId" in await resp.json()


async def test_malformed_json_is_400_and_creates_nothing(client: Client, store: MemoryJobStore) -> None:
    resp = await client.post(f"/child/SubmitJob?familyToken={TOKEN}", data=b'{"jobName": ',
                             headers={"Content-Type": "application/json"})
    assert resp.status == 400 and "not valid JSON" in (await resp.json())["error"]
    assert store.calls == [] and children(store) == []


async def test_oversized_body_is_413_json_and_creates_nothing(make_client: MakeClient, store: MemoryJobStore) -> None:
    client = await make_client(max_body=1024)
    resp = await client.post(f"/child/SubmitJob?familyToken={TOKEN}",
                             json={**JOB, "cmd": "x" * 5000})
    assert resp.status == 413 and "error" in await resp.json()
    assert store.calls == []


# (parameters replacing or removing (None) good ones, words the error holds): each refused
# with DLWS's 200 and {"error"}, before any API call.
BAD_PARAMETERS = [
    ({"jobName": None}, "job name cannot be empty"),
    ({"resourcegpu": None}, "Number of GPU cannot be empty"),
    ({"dataPath": None}, "datapath cannot be empty"),
    ({"image": None}, "docker image cannot be empty"),
    ({"jobType": None}, "jobType cannot be empty"),
    ({"resourcegpu": "two"}, "resourcegpu must be a whole number"),
    ({"resourcegpu": "999999999999"}, "resourcegpu must be between"),
    ({"interactivePort": "http"}, "interactivePort must be a whole number"),
    ({"interactivePort": "70000"}, "interactivePort must be between"),
    ({"runningasroot": "maybe"}, "runningasroot must be 0 or 1"),
    ({"jobtrainingtype": "MPIDistJob"}, "not supported"),
    ({"jobtrainingtype": "Quantum"}, "unknown jobtrainingtype"),
    ({"gpus": "1"}, "unknown parameter"),
    ({"jobName": "n" * 300}, "jobName is too long"),
    ({"env": json.dumps({"FAMILY_TOKEN": "x"})}, "reserved"),
    ({"env": "A=1"}, "env must be a JSON object"),
    ({"cpurequest": "2", "cpulimit": "1"}, "cpurequest 2 is above cpulimit 1"),
    ({"memoryrequest": "1Gi", "memorylimit": "64M"}, "memoryrequest 1Gi is above memorylimit 64M"),
    ({"cpurequest": "two"}, "cpurequest must be a Kubernetes quantity"),
    ({"memorylimit": "2GB"}, "memorylimit must be a Kubernetes quantity such as 2048M or 4Gi"),
    ({"memorylimit": "0"}, "memorylimit must be above 0"),
    ({"cpulimit": "100000"}, "cpulimit must be at most 4096 cores"),
    ({"gpuType": "P40 and more"}, "gpuType must be a GPU type name"),
    ({"preemptionAllowed": "sometimes"}, "preemptionAllowed must be 0 or 1"),
]


@pytest.mark.parametrize("change, words", BAD_PARAMETERS)
async def test_bad_parameters_get_clear_errors_and_create_nothing(
        client: Client, store: MemoryJobStore, change: dict[str, str | None], words: str) -> None:
    params = {**JOB, **{k: v for k, v in change.items() if v is not None}, "familyToken": TOKEN}
    for k in [k for k, v in change.items() if v is None]:
        del params[k]
    resp = await client.get("/child/SubmitJob", params=params)
    assert resp.status == 200 and words in (await resp.json()).get("error", "")
    assert store.calls == [] and children(store) == []


async def test_huge_env_maps_are_refused_whole(client: Client, store: MemoryJobStore) -> None:
    too_many = {f"V{i}": "x" for i in range(spec.MAX_ENV + 1)}
    too_long = {"BIG": "x" * (spec.MAX_ENV_VALUE + 1)}
    over_body = {f"V{i}": "x" * spec.MAX_ENV_VALUE for i in range(spec.MAX_ENV)}  # 256 kB
    for env, status, words in ((too_many, 200, "at most"), (too_long, 200, "at most"),
                               (over_body, 413, "too large")):
        resp = await client.post(f"/child/SubmitJob?familyToken={TOKEN}", json={**JOB, "env": env})
        assert resp.status == status and words in (await resp.json())["error"], resp.status
    resp = await client.get("/child/SubmitJob", params={**JOB, "env": json.dumps(too_many), "familyToken": TOKEN})
    assert resp.status == 200 and "at most" in (await resp.json())["error"]
    assert store.calls == [] and children(store) == []


async def test_unsupported_content_type_is_400(client: Client) -> None:
    resp = await client.post(f"/child/SubmitJob?familyToken={TOKEN}", data=b"jobName=x",
                             headers={"Content-Type": "text/plain"})
    assert resp.status == 400 and "error" in await resp.json()


async def test_openapi_is_served(client: Client) -> None:
    resp = await client.get("/openapi.json")
    doc = await resp.json()
    assert doc["openapi"].startswith("3.") and "/child/SubmitJob" in doc["paths"]


async def test_health_readiness_and_metrics(client: Client) -> None:
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
    await submit(client)
    text = await (await client.get("/metrics")).text()
    assert 'dlws_shim_requests_total{op="SubmitJob",outcome="ok"} 1.0' in text
    assert "dlws_shim_indexed_jobs 3.0" in text


async def test_not_ready_until_the_index_is_loaded(client: Client, store: MemoryJobStore) -> None:
    store.index.synced = False
    assert (await client.get("/readyz")).status == 503
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})
    assert resp.status == 503 and resp.headers["Retry-After"] and "error" in await resp.json()


# --- authentication --------------------------------------------------------------------


async def test_no_token_is_403(client: Client, store: MemoryJobStore) -> None:
    resp = await client.get("/child/SubmitJob", params=JOB)
    assert resp.status == 403 and "familyToken" in (await resp.json())["error"]
    assert store.calls == []


@pytest.mark.parametrize("token", ["nonsense", "0" * 64, tokens.new_token()])
async def test_wrong_token_is_403(client: Client, store: MemoryJobStore, token: str) -> None:
    resp = await client.get("/child/KillJob", params={"jobId": "root-a", "familyToken": token})
    assert resp.status == 403 and "error" in await resp.json()
    assert store.calls == []


async def test_bearer_header_is_accepted(client: Client) -> None:
    resp = await client.get("/child/SubmitJob", params=JOB, headers={"Authorization": f"Bearer {TOKEN}"})
    assert "jobId" in await resp.json()


async def test_a_killed_familys_token_stops_working(client: Client, store: MemoryJobStore) -> None:
    child = (await submit(client))["jobId"]
    assert (await op(client, "KillJob", "root-a"))["result"] == KILL_OK
    store.calls.clear()
    for _ in ("being killed", "gone"):
        resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})
        assert resp.status == 403
        for name, job_id in (("JobDetail", child), ("JobDetail", "root-a"), ("GetJobIP", child)):
            resp = await client.get(f"/child/{name}", params={"jobId": job_id, "familyToken": TOKEN})
            assert resp.status == 403, (name, job_id)
        for job_id in (child, "root-a"):  # the garbage collector's work done
            store.vanish(NS, job_id)
    assert store.calls == []  # refused before any API call


# --- SubmitJob ---------------------------------------------------------------------------


async def test_submit_makes_one_create_confirmed_by_the_index(client: Client, store: MemoryJobStore) -> None:
    job_id = (await submit(client, userName="mallory", userId="0"))["jobId"]
    assert store.calls == [f"create {NS}/{job_id}"]  # the watch delivered it: no read needed
    (child,) = children(store)
    meta = child["metadata"]
    assert meta["name"] == job_id and meta["namespace"] == NS
    assert meta["labels"] == {resource.LABEL_FAMILY: tokens.family_digest(TOKEN),
                              resource.LABEL_PARENT: "root-a", resource.LABEL_ROOT: "root-a"}
    assert meta["ownerReferences"][0]["name"] == "root-a"
    assert (child["spec"]["userName"], child["spec"]["userId"]) == ("alice", 1000)


@pytest.mark.parametrize("params,message", [
    ({"jobName": ""}, "job name cannot be empty"),
    ({"image": None}, "docker image cannot be empty"),
    ({"resourcegpu": "two"}, "resourcegpu must be a whole number"),
    ({"resourcegpu": "99999999"}, "resourcegpu must be between"),
    ({"jobtrainingtype": "MPIDistJob"}, "not supported"),
    ({"jobtrainingtype": "PSDistJob", "numps": "0", "numpsworker": "1"}, "numps must be between 1 and"),
    ({"jobtrainingtype": "PSDistJob", "numps": "1", "numpsworker": "1.5"}, "numpsworker must be a whole number"),
    ({"jobtrainingtype": "PSDistJob", "numps": "1", "numpsworker": "64"}, "above this cluster's bound"),
    ({"bogus": "1"}, "unknown parameter"),
    ({"cmd": "x" * 20000}, "too long"),
])
async def test_bad_submissions_get_clear_errors_and_create_nothing(
        client: Client, store: MemoryJobStore, params: dict[str, Any], message: str) -> None:
    query = {**JOB, "familyToken": TOKEN, **{k: v for k, v in params.items() if v is not None}}
    for k, v in params.items():
        if v is None:
            del query[k]
    resp = await client.post("/child/SubmitJob", json=query)
    assert resp.status == 200
    assert message in (await resp.json())["error"]
    assert store.calls == [] and children(store) == []


async def test_the_token_may_not_travel_in_a_job_parameter(client: Client, store: MemoryJobStore) -> None:
    body = await submit(client, env=json.dumps({"LEAK": TOKEN}))
    assert "FAMILY_TOKEN" in body["error"] and TOKEN not in json.dumps(body)
    assert children(store) == []


async def test_refused_by_the_api_server_is_an_error_reply(client: Client, store: MemoryJobStore) -> None:
    store.fail_next = Rejected("spec.image: Invalid value")
    body = await submit(client)
    assert "refused" in body["error"] and "spec.image" in body["error"]


async def test_api_server_down_is_503_json_and_no_job(client: Client, store: MemoryJobStore) -> None:
    store.fail_next = Unavailable("the Kubernetes API failed while creating a job; try again")
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})
    assert resp.status == 503 and "Kubernetes API failed" in (await resp.json())["error"]
    assert children(store) == []


async def test_unexpected_failures_are_500_json_without_traceback(client: Client, store: MemoryJobStore) -> None:
    store.fail_next = RuntimeError(f"boom {TOKEN}")
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})
    text = await resp.text()
    assert resp.status == 500 and json.loads(text) == {"error": "internal error"}


async def test_parent_job_id_nests_a_child(client: Client, store: MemoryJobStore) -> None:
    mid = (await submit(client))["jobId"]
    leaf = (await submit(client, parentJobId=mid))["jobId"]
    obj = store.objects[(NS, leaf)]
    assert obj["metadata"]["labels"][resource.LABEL_PARENT] == mid
    assert obj["metadata"]["ownerReferences"][0]["uid"] == store.objects[(NS, mid)]["metadata"]["uid"]


async def test_a_parent_of_another_family_is_not_found(client: Client, store: MemoryJobStore) -> None:
    theirs = (await submit(client, token=OTHER_TOKEN))["jobId"]
    body = await submit(client, parentJobId=theirs)
    assert "Could not find parent job" in body["error"]
    assert len(children(store)) == 1


async def test_a_parent_being_killed_gets_no_children(client: Client, store: MemoryJobStore) -> None:
    mid = (await submit(client))["jobId"]
    leaf = (await submit(client, parentJobId=mid))["jobId"]
    await op(client, "KillJob", mid)
    for parent in (mid, leaf):  # the job itself, and a job below it
        assert "being killed" in (await submit(client, parentJobId=parent))["error"]


async def test_a_kill_the_index_has_not_seen_refuses_and_deletes_the_child(
        client: Client, store: MemoryJobStore, caplog: pytest.LogCaptureFixture) -> None:
    mid = (await submit(client))["jobId"]
    leaf = (await submit(client, parentJobId=mid))["jobId"]
    store.index_lag = True  # the kill below reaches the API server, not yet the index
    await op(client, "KillJob", mid)
    store.calls.clear()
    with caplog.at_level("INFO", logger="api_shim.routes"):
        body = await submit(client, parentJobId=leaf)
    assert "being killed" in body["error"] and "jobId" not in body
    made = store.calls[0].removeprefix(f"create {NS}/")
    assert sorted(store.calls[1:]) == sorted([f"read {NS}/{leaf}", f"read {NS}/{mid}", f"read {NS}/root-a",
                                              f"delete {NS}/{made}"])
    assert store.objects[(NS, made)]["metadata"]["deletionTimestamp"]
    assert any("refused" in r.getMessage() and mid in r.getMessage() and r.levelname == "INFO"
               for r in caplog.records)
    assert TOKEN not in caplog.text


async def test_a_kill_just_before_the_create_is_seen_in_the_index_after_it(
        client: Client, store: MemoryJobStore) -> None:
    mid = (await submit(client))["jobId"]
    leaf = (await submit(client, parentJobId=mid))["jobId"]
    store.before_create = lambda: store.mark_deleting(NS, mid)  # after the index's first look
    store.calls.clear()
    body = await submit(client, parentJobId=leaf)
    assert "being killed" in body["error"] and "jobId" not in body
    made = store.calls[0].removeprefix(f"create {NS}/")
    assert store.calls == [f"create {NS}/{made}", f"delete {NS}/{made}"]  # no read: the index knew


async def test_a_parent_gone_from_the_api_server_gets_no_child(client: Client, store: MemoryJobStore) -> None:
    mid = (await submit(client))["jobId"]
    store.index_lag = True
    store.vanish(NS, mid)
    assert "being killed" in (await submit(client, parentJobId=mid))["error"]
    assert [c["metadata"]["name"] for c in children(store) if not c["metadata"].get("deletionTimestamp")] == []


async def test_a_parent_made_again_under_its_name_is_not_the_parent(client: Client, store: MemoryJobStore) -> None:
    mid = (await submit(client))["jobId"]
    store.objects[(NS, mid)]["metadata"]["uid"] = "another-uid"  # the index still has the first
    store.index_lag = True  # and does not catch up: the API server is asked
    assert "being killed" in (await submit(client, parentJobId=mid))["error"]


async def test_api_server_down_while_confirming_is_503_and_the_child_deleted(
        client: Client, store: MemoryJobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing_read(namespace: str, name: str) -> Any:
        raise Unavailable("the Kubernetes API failed while reading a job; try again")
    monkeypatch.setattr(store, "read", failing_read)
    store.index_lag = True  # the watch does not deliver the child: the API server is asked
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})
    assert resp.status == 503 and "jobId" not in await resp.json()
    (child,) = children(store)
    assert child["metadata"]["deletionTimestamp"]


async def test_depth_limit_is_429(make_client: MakeClient, store: MemoryJobStore) -> None:
    client = await make_client(max_depth=2)
    one = (await submit(client))["jobId"]
    two = (await submit(client, parentJobId=one))["jobId"]  # 2 levels below the root: allowed
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN, "parentJobId": two})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "too deep" in (await resp.json())["error"]
    assert len(children(store)) == 2


async def test_rate_limit_is_429_and_per_family(make_client: MakeClient, store: MemoryJobStore) -> None:
    client = await make_client(submit_rate=0.01, submit_burst=3)
    for _ in range(3):
        await submit(client)
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "too many submissions" in (await resp.json())["error"]
    assert "jobId" in await submit(client, token=OTHER_TOKEN)
    assert len(children(store)) == 4
    assert 'dlws_shim_family_limit_rejections_total{limit="rate"} 1.0' in await (await client.get("/metrics")).text()


async def test_live_job_limit_holds_under_concurrent_submissions(make_client: MakeClient, store: MemoryJobStore) -> None:
    client = await make_client(max_live_jobs=4, submit_burst=100)
    store.index_lag = True  # the watch has not delivered any of the new jobs yet
    statuses = [r.status for r in await asyncio.gather(*(
        client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN}) for _ in range(10)))]
    # The root counts: 3 children fit under a limit of 4.
    assert sorted(statuses) == [200] * 3 + [429] * 7
    assert len(children(store)) == 3
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "too many live jobs" in (await resp.json())["error"]


async def test_finished_jobs_do_not_count_as_live(make_client: MakeClient, store: MemoryJobStore) -> None:
    client = await make_client(max_live_jobs=2)
    first = (await submit(client))["jobId"]
    assert (await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})).status == 429
    store.set_status(NS, first, phase="Succeeded")
    assert "jobId" in await submit(client)


# --- KillJob, JobDetail, GetJobIP --------------------------------------------------------


async def test_kill_deletes_the_job(client: Client, store: MemoryJobStore) -> None:
    job_id = (await submit(client))["jobId"]
    assert (await op(client, "KillJob", job_id))["result"] == KILL_OK
    assert store.objects[(NS, job_id)]["metadata"].get("deletionTimestamp")


async def test_a_killed_job_and_every_job_below_it_answer_killed_once_gone(
        client: Client, store: MemoryJobStore) -> None:
    """One record per kill (store.records), naming the subtree; the jobs answer "killed"
    while the collector works and after it is done; another family learns nothing."""
    child = (await submit(client))["jobId"]
    grandchild = (await submit(client, parentJobId=child))["jobId"]
    store.calls.clear()
    assert (await op(client, "KillJob", child))["result"] == KILL_OK
    assert [c.split()[0] for c in store.calls if not c.startswith("read")] == ["delete", "record"]
    while_deleting = await op(client, "JobDetail", grandchild)
    assert (while_deleting["jobStatus"], while_deleting["killedBy"]) == ("killed", child)
    for job_id in (grandchild, child):
        store.vanish(NS, job_id)
    for job_id, parent in ((child, "root-a"), (grandchild, child)):
        detail = await op(client, "JobDetail", job_id)
        assert detail["jobStatus"] == "killed" and detail["killedBy"] == child and detail["killedAt"]
        assert (detail["jobId"], detail["jobName"], detail["parentJobId"]) == (job_id, "child", parent)
        ip = await op(client, "GetJobIP", job_id)
        assert ip["error"].startswith(f"Job {job_id} has no IP: it was killed at ") and child in ip["error"]
        assert await op(client, "JobDetail", job_id, token=OTHER_TOKEN) == {
            "error": f"Could not find job with id {job_id}"}
    assert len(store.records) == 1 and TOKEN not in json.dumps(list(store.records.values()))


async def test_job_detail_log_from_the_pod_then_from_the_storage(
        make_client: MakeClient, store: MemoryJobStore, tmp_path: Any) -> None:
    client = await make_client(job_storage=str(tmp_path))
    job_id = (await submit(client))["jobId"]
    assert (await op(client, "JobDetail", job_id))["log"] == ""  # no Pod, nothing stored: empty
    store.pod_logs[(NS, job_id)] = f"hello\n{TOKEN}\n".encode()
    assert (await op(client, "JobDetail", job_id))["log"] == "hello\nREDACTED\n"
    assert "log" not in await op(client, "JobDetail", job_id, log="0")
    assert await op(client, "JobDetail", job_id, log="yes") == {
        "error": "log must be 0 (JobDetail without the job's log) or 1 (with it, the default)"}
    del store.pod_logs[(NS, job_id)]  # the Pod is gone: the init's copy on the storage
    day = store.objects[(NS, job_id)]["metadata"]["creationTimestamp"]
    stored = tmp_path / "work" / "alice" / "jobs" / f"{day[2:4]}{day[5:7]}{day[8:10]}" / job_id / "logs"
    stored.mkdir(parents=True)
    (stored / "joblog.txt").write_text("hello\nbye\n")
    assert (await op(client, "JobDetail", job_id))["log"] == "hello\nbye\n"


async def test_killing_a_job_being_killed_succeeds(client: Client) -> None:
    job_id = (await submit(client))["jobId"]
    await op(client, "KillJob", job_id)
    assert (await op(client, "KillJob", job_id))["result"] == KILL_OK


async def test_kill_of_another_familys_job_does_nothing(client: Client, store: MemoryJobStore) -> None:
    theirs = (await submit(client, token=OTHER_TOKEN))["jobId"]
    store.calls.clear()
    for job_id in (theirs, "root-b"):
        assert (await op(client, "KillJob", job_id))["result"] == f"Cannot Kill the job. Job ID: {job_id}"
    assert not any(c.startswith("delete") for c in store.calls)
    assert not store.objects[(OTHER_NS, theirs)]["metadata"].get("deletionTimestamp")


async def test_a_token_reaches_nothing_of_another_family_in_its_namespace(
        client: Client, store: MemoryJobStore) -> None:
    neighbour = tokens.new_token()
    store.add_root(NS, "root-c", tokens.family_digest(neighbour))
    theirs = (await submit(client, token=neighbour))["jobId"]
    store.calls.clear()
    for job_id in ("root-c", theirs):
        assert (await op(client, "KillJob", job_id))["result"] == f"Cannot Kill the job. Job ID: {job_id}"
        for name in ("JobDetail", "GetJobIP"):
            assert await op(client, name, job_id) == {"error": f"Could not find job with id {job_id}"}
        assert await submit(client, parentJobId=job_id) == {"error": f"Could not find parent job with id {job_id}"}
    assert not [c for c in store.calls if c.startswith(("delete", "create"))]
    assert not any(o["metadata"].get("deletionTimestamp") for o in store.objects.values())
    assert [c["metadata"]["name"] for c in children(store)] == [theirs]


async def test_kill_of_an_unknown_job_cannot_kill(client: Client) -> None:
    job_id = "5f0c6c1e-1234-4000-8000-00000000abcd"
    assert (await op(client, "KillJob", job_id))["result"] == f"Cannot Kill the job. Job ID: {job_id}"


@pytest.mark.parametrize("job_id", ["../root-a", "root-a/status", "a,b", "x" * 300, "", "ROOT-A",
                                    "dlworkspace.io/family"])
async def test_ids_that_cannot_name_a_job_cost_no_api_call(
        client: Client, store: MemoryJobStore, job_id: str) -> None:
    for name in ("KillJob", "JobDetail", "GetJobIP"):
        body = await op(client, name, job_id)
        assert "Cannot Kill" in body.get("result", "") or "Could not find" in body.get("error", "")
    assert store.calls == []


async def test_a_job_id_equal_to_the_token_is_not_echoed(client: Client) -> None:
    body = await op(client, "JobDetail", TOKEN)
    assert TOKEN not in json.dumps(body) and "Could not find job with id" in body["error"]


async def test_detail_of_own_job(client: Client, store: MemoryJobStore) -> None:
    job_id = (await submit(client))["jobId"]
    detail = await op(client, "JobDetail", job_id)
    assert detail["jobId"] == job_id and detail["parentJobId"] == "root-a"
    assert detail["jobStatus"] == "queued" and detail["userName"] == "alice"
    assert TOKEN not in json.dumps(detail)


async def test_detail_of_another_familys_job_is_not_found(client: Client) -> None:
    assert (await op(client, "JobDetail", "root-b")) == {"error": "Could not find job with id root-b"}


async def test_a_job_the_watch_has_not_delivered_is_found_with_one_get(
        client: Client, store: MemoryJobStore) -> None:
    store.index_lag = True
    job_id = (await submit(client))["jobId"]
    store.calls.clear()
    assert "no IP yet" in (await op(client, "GetJobIP", job_id))["error"]
    assert store.calls == [f"read {NS}/{job_id}"]


async def test_ip_of_a_running_job(client: Client, store: MemoryJobStore) -> None:
    job_id = (await submit(client))["jobId"]
    store.set_status(NS, job_id, phase="Running", podIP="10.244.0.7")
    assert await op(client, "GetJobIP", job_id) == {"IP": "10.244.0.7"}


async def test_ip_of_a_job_without_one_says_so(client: Client) -> None:
    job_id = (await submit(client))["jobId"]
    assert (await op(client, "GetJobIP", job_id))["error"] == f"Job {job_id} has no IP yet: it is queued"


async def test_ip_of_another_familys_job_is_not_found(client: Client, store: MemoryJobStore) -> None:
    store.set_status(OTHER_NS, "root-b", podIP="10.9.9.9")
    assert await op(client, "GetJobIP", "root-b") == {"error": "Could not find job with id root-b"}


async def waiting_on_the_index(store: MemoryJobStore) -> None:
    """Returns once a request waits on the index for a job to change (GetJobIP's wait)."""
    for _ in range(400):
        if len(store.index._waiters):
            return
        await asyncio.sleep(0.005)
    raise AssertionError("no request waits on the index")


async def test_ip_wait_returns_when_the_watch_brings_the_ip(client: Client, store: MemoryJobStore) -> None:
    job_id = (await submit(client))["jobId"]

    async def later() -> None:
        await waiting_on_the_index(store)
        store.set_status(NS, job_id, phase="Pending")
        await waiting_on_the_index(store)  # no IP yet: it waits again
        store.set_status(NS, job_id, phase="Running", podIP="10.244.0.8")

    task = asyncio.ensure_future(later())
    start = asyncio.get_running_loop().time()
    assert await op(client, "GetJobIP", job_id, wait="5") == {"IP": "10.244.0.8"}
    assert asyncio.get_running_loop().time() - start < 2
    await task


async def test_ip_wait_ends_at_once_for_a_job_given_no_pod(client: Client, store: MemoryJobStore) -> None:
    job_id = (await submit(client))["jobId"]
    store.set_status(NS, job_id, phase="Killing", reason="AncestorKilled")  # no deletion yet
    start = asyncio.get_running_loop().time()
    body = await op(client, "GetJobIP", job_id, wait="30")
    assert body["error"] == f"Job {job_id} has no IP yet: it is killing"
    assert asyncio.get_running_loop().time() - start < 2


async def test_ip_wait_is_bounded_by_the_settings(make_client: MakeClient) -> None:
    client = await make_client(max_ip_wait=0.1)
    job_id = (await submit(client))["jobId"]
    start = asyncio.get_running_loop().time()
    assert "no IP yet" in (await op(client, "GetJobIP", job_id, wait="3600"))["error"]
    assert asyncio.get_running_loop().time() - start < 2


@pytest.mark.parametrize("wait", ["soon", "-1", "nan", "inf"])
async def test_ip_wait_must_be_seconds(client: Client, wait: str) -> None:
    assert "wait must be" in (await op(client, "GetJobIP", "root-a", wait=wait))["error"]


async def test_ip_wait_ends_when_the_job_is_deleted(client: Client, store: MemoryJobStore) -> None:
    job_id = (await submit(client))["jobId"]

    async def later() -> None:
        await waiting_on_the_index(store)
        store.vanish(NS, job_id)

    task = asyncio.ensure_future(later())
    assert (await op(client, "GetJobIP", job_id, wait="5"))["error"] == f"Could not find job with id {job_id}"
    await task


async def test_no_response_body_contains_the_token(client: Client, store: MemoryJobStore) -> None:
    bodies = []
    job_id = (await submit(client))["jobId"]
    store.set_status(NS, job_id, phase="Running", podIP="10.0.0.1")
    for name in ("JobDetail", "GetJobIP", "KillJob"):
        bodies.append(await op(client, name, job_id))
    for path in ("/child/JobDetail", "/nope", "/child/SubmitJob"):
        bodies.append(await (await client.get(path, params={"familyToken": TOKEN, "jobId": TOKEN})).text())
    assert all(TOKEN not in json.dumps(b) for b in bodies)


async def test_a_long_query_gets_the_parameter_error_in_json(client: Client, store: MemoryJobStore) -> None:
    resp = await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN, "cmd": "x" * 20000})
    assert resp.status == 200 and "cmd is too long" in (await resp.json())["error"]
    assert children(store) == []


async def test_a_failed_create_gives_its_live_job_place_back(make_client: MakeClient, store: MemoryJobStore) -> None:
    client = await make_client(max_live_jobs=2)  # the root and one child
    store.fail_next = Unavailable("the Kubernetes API failed while creating a job; try again")
    assert (await client.get("/child/SubmitJob", params={**JOB, "familyToken": TOKEN})).status == 503
    assert "jobId" in await submit(client)


async def test_submit_refuses_a_gpu_type_the_cluster_does_not_list(make_client: MakeClient,
                                                                  store: MemoryJobStore) -> None:
    client = await make_client(gpu_types="P40,V100")
    resp = await client.get("/child/SubmitJob", params={**JOB, "gpuType": "K80", "familyToken": TOKEN})
    assert (resp.status, await resp.json()) == (200, {"error": "unknown gpuType 'K80': this cluster has P40, V100"})
    resp = await client.get("/child/SubmitJob", params={**JOB, "gpuType": "P40", "familyToken": TOKEN})
    assert "jobId" in await resp.json()


def test_a_bad_gpu_type_list_is_refused() -> None:
    with pytest.raises(ValueError, match="gpu_types"):
        Settings(gpu_types="P40,not one")
