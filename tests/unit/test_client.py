"""dlws_client against a stand-in /child API (http.server in a thread): what it sends,
what it retries and how long it waits, and which error each answer becomes.

Waits run on a fake clock: the transport's sleep only advances it, so a test of a 60 s
deadline takes milliseconds. The stand-in's answers are scripted per operation.
"""
from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dlws_client import (ConfigError, DlwsError, Family, Forbidden, IdempotencyConflict, JobEnded,
                         OverLimit, Refused, Unavailable, WaitTimeout)
from dlws_client.retry import Backoff
from dlws_client.transport import Transport

TOKEN = "f" * 20 + "0123456789abcdef" * 2
JOB: dict[str, Any] = {"jobName": "worker", "image": "busybox", "dataPath": "data", "jobType": "training"}
KILL_OK = "Success, the job is scheduled to be terminated."


@dataclass
class Step:
    status: int = 200
    body: Any = None  # a dict is sent as JSON; bytes as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    drop: bool = False  # close the connection without an answer


@dataclass
class Seen:
    op: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a delayed answer: expected here


class FakeApi:
    """Answers each operation from its script, in order, then with its default; records
    every request."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.scripts: dict[str, list[Step]] = {}
        self.defaults: dict[str, Step] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        # A short poll interval: shutdown() waits for the loop's next turn.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def answer(self, op: str, status: int = 200, body: Any = None, **kw: Any) -> None:
        self.scripts.setdefault(op, []).append(Step(status, body, **kw))

    def always(self, op: str, status: int = 200, body: Any = None, **kw: Any) -> None:
        self.defaults[op] = Step(status, body, **kw)

    def ops(self) -> list[str]:
        return [s.op for s in self.seen]

    def _next(self, seen: Seen) -> Step:
        with self._lock:
            self.seen.append(seen)
            script = self.scripts.get(seen.op) or []
            return script.pop(0) if script else self.defaults.get(seen.op, Step(404, {"error": "not scripted"}))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                op = self.path.rstrip("/").rsplit("/", 1)[-1]
                step = api._next(Seen(op, self.path, {k.lower(): v for k, v in self.headers.items()},
                                      json.loads(raw or b"{}")))
                time.sleep(step.delay)
                if step.drop:
                    self.close_connection = True
                    return
                data = step.body if isinstance(step.body, bytes) else json.dumps(step.body).encode()
                self.send_response(step.status)
                for name, value in {"Content-Type": "application/json", **step.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeTime:
    """The transport's clock and sleep: sleeping only moves the clock. `fraction` picks
    each jitter draw within its bounds (1.0: the top)."""

    def __init__(self, fraction: float = 1.0) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.draws: list[tuple[float, float]] = []
        self.fraction = fraction

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def uniform(self, low: float, high: float) -> float:
        self.draws.append((low, high))
        return low + (high - low) * self.fraction


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as fake:
        yield fake


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def family_of(api_url: str, fake_time: FakeTime, **kw: Any) -> Family:
    return Family.over(Transport(api_url, TOKEN, clock=fake_time.clock, sleep=fake_time.sleep,
                                 uniform=fake_time.uniform, **kw))


@pytest.fixture
def family(api: FakeApi, fake_time: FakeTime) -> Family:
    return family_of(api.url, fake_time)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# --- what goes on the wire ------------------------------------------------------------


def test_calls_are_json_posts_to_child_with_the_token_in_a_header_never_the_url(
        api: FakeApi, family: Family) -> None:
    api.answer("JobDetail", 200, {"jobId": "j1", "jobStatus": "running"})
    assert family.job("j1").detail() == {"jobId": "j1", "jobStatus": "running"}
    (seen,) = api.seen
    assert seen.path == "/child/JobDetail" and seen.params == {"jobId": "j1"}
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["content-type"] == "application/json"
    assert TOKEN not in seen.path and TOKEN not in json.dumps(seen.params)


def test_an_api_url_without_its_trailing_slash_works_the_same(api: FakeApi, fake_time: FakeTime) -> None:
    api.answer("JobDetail", 200, {"jobId": "j1"})
    family_of(api.url.rstrip("/"), fake_time).job("j1").detail()
    assert api.seen[0].path == "/child/JobDetail"


def test_submit_sends_dlws_parameters_and_returns_the_new_job(api: FakeApi, family: Family) -> None:
    api.answer("SubmitJob", 200, {"jobId": "c1"})
    job = family.submit(**JOB, cmd="sleep 1", interactivePort="8888", env={"A": "b"})
    assert (job.id, job.replayed) == ("c1", False)
    assert api.seen[0].params == {**JOB, "cmd": "sleep 1", "resourcegpu": 0, "interactivePort": "8888",
                                  "env": {"A": "b"}}  # no parentJobId: the API's default, the root


def test_submit_names_the_parent_when_given(api: FakeApi, family: Family) -> None:
    api.answer("SubmitJob", 200, {"jobId": "c2"})
    family.submit(**JOB, parentJobId="c1")
    assert api.seen[0].params["parentJobId"] == "c1"


def test_submit_nests_under_the_job_it_runs_in_unless_told_otherwise(api: FakeApi) -> None:
    family = Family.from_env({"FAMILY_TOKEN": TOKEN, "DLWS_REST_API": api.url, "DLWS_JOB_ID": "me"})
    api.always("SubmitJob", 200, {"jobId": "c3"})
    family.submit(**JOB)
    family.submit(**JOB, parentJobId="c1")
    assert [seen.params["parentJobId"] for seen in api.seen] == ["me", "c1"]


def test_submit_always_sends_an_idempotency_key_a_new_uuid4_per_call(api: FakeApi, family: Family) -> None:
    api.always("SubmitJob", 200, {"jobId": "c1"})
    first, second = family.submit(**JOB), family.submit(**JOB)
    keys = [s.headers["idempotency-key"] for s in api.seen]
    assert keys == [first.idempotency_key, second.idempotency_key] and keys[0] != keys[1]
    assert all(uuid.UUID(k).version == 4 for k in keys)
    assert all("idempotencyKey" not in s.params for s in api.seen)  # the header only


def test_a_given_key_is_sent_as_given_and_a_replayed_answer_is_marked(api: FakeApi, family: Family) -> None:
    api.answer("SubmitJob", 200, {"jobId": "c1"}, headers={"Idempotent-Replayed": "true"})
    job = family.submit(**JOB, idempotency_key="step-12/attempt")
    assert api.seen[0].headers["idempotency-key"] == "step-12/attempt"
    assert job.replayed and job.idempotency_key == "step-12/attempt"


def test_a_key_the_api_would_refuse_is_refused_before_sending(api: FakeApi, family: Family) -> None:
    for bad in ("", "has space", "x" * 256, "naïve"):
        with pytest.raises(ValueError):
            family.submit(**JOB, idempotency_key=bad)
    assert api.seen == []


# --- retries --------------------------------------------------------------------------


def test_submit_retries_503_and_lost_answers_with_one_key(api: FakeApi, family: Family,
                                                          fake_time: FakeTime) -> None:
    api.answer("SubmitJob", 503, {"error": "the Kubernetes API failed"}, headers={"Retry-After": "1"})
    api.answer("SubmitJob", drop=True)
    api.answer("SubmitJob", 200, {"jobId": "c1"})
    job = family.submit(**JOB)
    assert job.id == "c1" and api.ops() == ["SubmitJob"] * 3
    assert {s.headers["idempotency-key"] for s in api.seen} == {job.idempotency_key}
    assert len(fake_time.sleeps) == 2


def test_429_waits_at_least_its_retry_after(api: FakeApi, family: Family, fake_time: FakeTime) -> None:
    fake_time.fraction = 0.0  # jitter alone would not wait at all
    api.answer("JobDetail", 429, {"error": "too many requests"}, headers={"Retry-After": "3"})
    api.answer("JobDetail", 200, {"jobId": "j1"})
    family.job("j1").detail()
    assert fake_time.sleeps == [3.0]


def test_retry_after_may_be_an_http_date(api: FakeApi, fake_time: FakeTime) -> None:
    fake_time.fraction = 0.0
    family = family_of(api.url, fake_time, wall_clock=lambda: 1_700_000_000.0)
    api.answer("JobDetail", 429, {"error": "slow down"},
               headers={"Retry-After": formatdate(1_700_000_005.0, usegmt=True)})
    api.answer("JobDetail", 200, {"jobId": "j1"})
    family.job("j1").detail()
    assert fake_time.sleeps == [5.0]


def test_backoff_doubles_its_ceiling_and_draws_below_it(api: FakeApi, fake_time: FakeTime) -> None:
    family = family_of(api.url, fake_time, backoff=Backoff(first=0.5, factor=2.0, cap=3.0))
    for _ in range(5):
        api.answer("JobDetail", 503, {"error": "down"})
    api.answer("JobDetail", 200, {"jobId": "j1"})
    family.job("j1").detail()
    assert fake_time.draws == [(0.0, 0.5), (0.0, 1.0), (0.0, 2.0), (0.0, 3.0), (0.0, 3.0)]
    assert fake_time.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]  # fraction 1.0: each at its ceiling


def test_retries_stop_before_the_deadline_with_the_last_error(api: FakeApi, fake_time: FakeTime) -> None:
    family = family_of(api.url, fake_time, deadline=10.0)
    api.always("JobDetail", 503, {"error": "the Kubernetes API failed"})
    with pytest.raises(Unavailable) as caught:
        family.job("j1").detail()
    assert caught.value.status == 503 and "the Kubernetes API failed" in caught.value.message
    assert sum(fake_time.sleeps) <= 10.0 and len(api.seen) == len(fake_time.sleeps) + 1 >= 4


def test_over_limit_carries_retry_after_and_is_not_waited_past_the_deadline(
        api: FakeApi, fake_time: FakeTime) -> None:
    family = family_of(api.url, fake_time, deadline=5.0)
    api.always("SubmitJob", 429, {"error": "too many live jobs"}, headers={"Retry-After": "30"})
    with pytest.raises(OverLimit) as caught:
        family.submit(**JOB)
    assert caught.value.retry_after == 30.0 and "too many live jobs" in str(caught.value)
    assert len(api.seen) == 1 and fake_time.sleeps == []  # 30 s would pass the deadline: no wait


def test_no_server_is_retried_until_the_deadline_then_unavailable(fake_time: FakeTime) -> None:
    family = family_of(closed_port_url(), fake_time, deadline=3.0)
    with pytest.raises(Unavailable) as caught:
        family.job("j1").detail()
    assert "ConnectionRefusedError" in caught.value.message and caught.value.status is None
    assert len(fake_time.sleeps) >= 2


def test_an_attempt_that_times_out_is_retried(api: FakeApi, fake_time: FakeTime) -> None:
    family = family_of(api.url, fake_time, request_timeout=0.2)
    api.answer("JobDetail", 200, {"jobId": "late"}, delay=1.0)
    api.answer("JobDetail", 200, {"jobId": "j1"})
    assert family.job("j1").detail() == {"jobId": "j1"}
    assert len(fake_time.sleeps) == 1


@pytest.mark.parametrize("status", [400, 403, 404, 422, 500])
def test_answers_that_a_retry_would_not_change_are_not_retried(
        api: FakeApi, family: Family, fake_time: FakeTime, status: int) -> None:
    api.always("SubmitJob", status, {"error": "no"})
    with pytest.raises(DlwsError):
        family.submit(**JOB)
    assert len(api.seen) == 1 and fake_time.sleeps == []


# --- which error each answer is -------------------------------------------------------


@pytest.mark.parametrize(("op", "status", "body", "kind"), [
    ("SubmitJob", 200, {"error": "Number of GPU cannot be empty"}, Refused),
    ("SubmitJob", 400, {"error": "the body is not valid JSON"}, Refused),
    ("SubmitJob", 422, {"error": "this idempotency key was used for other parameters"}, IdempotencyConflict),
    ("JobDetail", 422, {"error": "unprocessable"}, Refused),
    ("JobDetail", 404, {"error": "not found"}, Refused),
    ("JobDetail", 403, {"error": "familyToken is required"}, Forbidden),
    ("JobDetail", 500, {"error": "internal error"}, DlwsError),
    ("JobDetail", 200, b"<html>hello</html>", DlwsError),
    ("JobDetail", 301, {"error": "moved"}, DlwsError),
])
def test_each_answer_is_its_kind_of_error(api: FakeApi, family: Family, op: str, status: int,
                                          body: Any, kind: type[DlwsError]) -> None:
    api.always(op, status, body, headers={"Location": "http://elsewhere.invalid/"})
    with pytest.raises(DlwsError) as caught:
        if op == "SubmitJob":
            family.submit(**JOB)
        else:
            family.job("j1").detail()
    assert type(caught.value) is kind
    assert caught.value.operation == op and caught.value.status == status
    if isinstance(body, dict):
        assert body["error"] in caught.value.message
    assert len(api.seen) == 1  # a redirect is not followed: it would take the token elsewhere


def test_no_error_shows_the_token(api: FakeApi, fake_time: FakeTime) -> None:
    family = family_of(api.url, fake_time, deadline=0.0)
    api.always("JobDetail", 200, {"error": f"Could not find job with id {TOKEN}"})
    api.always("KillJob", 503, {"error": f"down {TOKEN}"})
    for call in (lambda: family.job("j1").detail(), lambda: family.job("j1").kill()):
        with pytest.raises(DlwsError) as caught:
            call()
        assert TOKEN not in str(caught.value) and "<redacted>" in str(caught.value)
    assert TOKEN not in repr(family) and TOKEN not in repr(family.transport)


# --- kill -----------------------------------------------------------------------------


def test_kill_succeeds_on_the_apis_success(api: FakeApi, family: Family) -> None:
    api.answer("KillJob", 200, {"result": KILL_OK})
    family.job("c1").kill()
    assert api.seen[0].params == {"jobId": "c1"}


def test_kill_of_a_job_it_cannot_kill_is_refused(api: FakeApi, family: Family) -> None:
    api.answer("KillJob", 200, {"result": "Cannot Kill the job. Job ID: c1"})
    with pytest.raises(Refused, match="Cannot Kill the job"):
        family.job("c1").kill()


@pytest.mark.parametrize("first", [Step(drop=True), Step(503, {"error": "the Kubernetes API failed"})])
def test_cannot_kill_after_an_attempt_that_may_have_killed_is_success(
        api: FakeApi, family: Family, first: Step) -> None:
    api.scripts["KillJob"] = [first, Step(200, {"result": "Cannot Kill the job. Job ID: c1"})]
    family.job("c1").kill()
    assert len(api.seen) == 2


def test_cannot_kill_after_an_attempt_refused_by_a_limit_is_refused(api: FakeApi, family: Family) -> None:
    api.answer("KillJob", 429, {"error": "too many requests"}, headers={"Retry-After": "1"})
    api.answer("KillJob", 200, {"result": "Cannot Kill the job. Job ID: c1"})
    with pytest.raises(Refused):
        family.job("c1").kill()


# --- ip -------------------------------------------------------------------------------


def test_ip_without_wait_asks_once(api: FakeApi, family: Family) -> None:
    api.answer("GetJobIP", 200, {"IP": "10.0.0.7"})
    assert family.job("c1").ip() == "10.0.0.7"
    assert api.seen[0].params == {"jobId": "c1"}


def test_ip_without_wait_and_without_an_ip_is_refused(api: FakeApi, family: Family) -> None:
    api.answer("GetJobIP", 200, {"error": "Job c1 has no IP yet: it is scheduling"})
    with pytest.raises(Refused, match="no IP yet"):
        family.job("c1").ip()
    assert api.ops() == ["GetJobIP"]


def test_ip_wait_lets_the_api_hold_and_asks_again_while_the_job_may_get_one(
        api: FakeApi, family: Family) -> None:
    api.answer("GetJobIP", 200, {"error": "Job c1 has no IP yet: it is scheduling"})
    api.answer("JobDetail", 200, {"jobId": "c1", "jobStatus": "scheduling"})
    api.answer("GetJobIP", 200, {"IP": "10.0.0.7"})
    assert family.job("c1").ip(wait=90) == "10.0.0.7"
    assert api.ops() == ["GetJobIP", "JobDetail", "GetJobIP"]
    assert api.seen[0].params == {"jobId": "c1", "wait": 90}
    assert 0 < api.seen[2].params["wait"] < 90


def test_ip_wait_gives_up_at_once_on_a_job_that_ended(api: FakeApi, family: Family, fake_time: FakeTime) -> None:
    api.answer("GetJobIP", 200, {"error": "Job c1 has no IP yet: it is failed"})
    api.answer("JobDetail", 200, {"jobId": "c1", "jobStatus": "failed"})
    with pytest.raises(Refused, match="it is failed"):
        family.job("c1").ip(wait=60)
    assert api.ops() == ["GetJobIP", "JobDetail"] and fake_time.sleeps == []


def test_ip_of_an_unknown_job_is_refused_in_getjobips_words(api: FakeApi, family: Family) -> None:
    api.answer("GetJobIP", 200, {"error": "Could not find job with id nope"})
    api.answer("JobDetail", 200, {"error": "Could not find job with id nope"})
    with pytest.raises(Refused) as caught:
        family.job("nope").ip(wait=30)
    assert caught.value.operation == "GetJobIP"


# --- wait_until -----------------------------------------------------------------------


def detail_of(status: str) -> dict[str, Any]:
    return {"jobId": "c1", "jobStatus": status}


def test_wait_until_polls_until_the_status_and_returns_that_detail(
        api: FakeApi, family: Family, fake_time: FakeTime) -> None:
    for status in ("queued", "scheduling", "scheduling", "running"):
        api.answer("JobDetail", 200, detail_of(status))
    assert family.job("c1").wait_until("running", timeout=60) == detail_of("running")
    assert len(api.seen) == 4
    # Growing intervals: between half and all of 0.2, 0.4, 0.8 s.
    assert fake_time.draws == [(0.1, 0.2), (0.2, 0.4), (0.4, 0.8)]


def test_wait_until_accepts_any_of_several_statuses(api: FakeApi, family: Family) -> None:
    api.answer("JobDetail", 200, detail_of("finished"))
    assert family.job("c1").wait_until({"running", "finished"}, timeout=5)["jobStatus"] == "finished"


@pytest.mark.parametrize("ended", ["finished", "failed", "killing", "error"])
def test_wait_until_raises_when_the_job_ends_otherwise(api: FakeApi, family: Family, ended: str) -> None:
    api.answer("JobDetail", 200, detail_of("running"))
    api.answer("JobDetail", 200, detail_of(ended))
    with pytest.raises(JobEnded) as caught:
        family.job("c1").wait_until("scheduling" if ended == "finished" else "finished", timeout=60)
    assert caught.value.job_status == ended and caught.value.detail == detail_of(ended)


def test_wait_until_times_out_with_the_last_detail(api: FakeApi, family: Family, fake_time: FakeTime) -> None:
    api.always("JobDetail", 200, detail_of("scheduling"))
    with pytest.raises(WaitTimeout) as caught:
        family.job("c1").wait_until("running", timeout=10)
    assert caught.value.last == detail_of("scheduling")
    assert 10.0 <= fake_time.now - 1000.0 < 10.5 and "still scheduling" in str(caught.value)


def test_wait_until_refuses_statuses_jobdetail_never_answers(api: FakeApi, family: Family) -> None:
    with pytest.raises(ValueError, match="unknown status"):
        family.job("c1").wait_until({"running", "runing"}, timeout=1)
    assert api.seen == []


# --- the family from a job's environment ----------------------------------------------


def test_from_env_reads_what_a_job_gets(api: FakeApi) -> None:
    family = Family.from_env({"FAMILY_TOKEN": TOKEN, "DLWS_REST_API": api.url})
    api.answer("JobDetail", 200, detail_of("running"))
    family.job("c1").detail()
    assert api.seen[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_from_env_names_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="FAMILY_TOKEN and DLWS_REST_API not set"):
        Family.from_env({})
    with pytest.raises(ConfigError, match="^DLWS_REST_API not set"):
        Family.from_env({"FAMILY_TOKEN": TOKEN})


def test_a_token_no_header_can_carry_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        Family("http://127.0.0.1:5000/", TOKEN + "\n")
    assert TOKEN not in str(caught.value)
