"""dlws-child against the stand-in API: the API's JSON on stdout, one JSON line on stderr
for an error, and an exit code for each kind of error."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from dlws_client.cli import EXIT_CODES, main
from tests.unit.test_client import KILL_OK, TOKEN, FakeApi

SUBMIT = ["--jobName", "w", "--image", "busybox", "--dataPath", "d", "--jobType", "training"]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    with FakeApi() as fake:
        monkeypatch.setenv("FAMILY_TOKEN", TOKEN)
        monkeypatch.setenv("DLWS_REST_API", fake.url)
        monkeypatch.delenv("DLWS_JOB_ID", raising=False)
        yield fake


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Exit code, stdout as JSON (None if empty), stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return code, json.loads(out) if out else None, err


def error_line(err: str) -> dict[str, Any]:
    (line,) = err.splitlines()
    fields: dict[str, Any] = json.loads(line)
    return fields


def test_submit_prints_the_apis_answer(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("SubmitJob", 200, {"jobId": "c1"})
    assert run(capsys, "submit", *SUBMIT, "--cmd", "sleep 60") == (0, {"jobId": "c1"}, "")
    assert api.seen[0].params == {"jobName": "w", "image": "busybox", "dataPath": "d",
                                  "jobType": "training", "cmd": "sleep 60", "resourcegpu": "0"}


def test_submit_nests_under_this_job_by_default(api: FakeApi, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLWS_JOB_ID", "me")
    api.always("SubmitJob", 200, {"jobId": "c1"})
    run(capsys, "submit", *SUBMIT)
    run(capsys, "submit", *SUBMIT, "--parentJobId", "c0")
    assert [seen.params["parentJobId"] for seen in api.seen] == ["me", "c0"]


def test_submit_passes_any_other_parameter_as_given(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("SubmitJob", 200, {"jobId": "c2"})
    code, _, _ = run(capsys, "submit", *SUBMIT, "--parentJobId", "c1", "--resourcegpu", "1",
                     "--numps", "0", "--containerUserId=7", "--env", '{"A": "b"}')
    assert code == 0
    params = api.seen[0].params
    assert (params["parentJobId"], params["resourcegpu"], params["numps"], params["containerUserId"],
            params["env"]) == ("c1", "1", "0", "7", '{"A": "b"}')


def test_submit_sends_the_given_idempotency_key(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("SubmitJob", 200, {"jobId": "c1"})
    run(capsys, "submit", *SUBMIT, "--idempotency-key", "run-7")
    assert api.seen[0].headers["idempotency-key"] == "run-7"
    assert "idempotency-key" not in api.seen[0].params and "idempotency_key" not in api.seen[0].params


@pytest.mark.parametrize("extra", [["--numps"], ["numps", "0"], ["--bad name", "x"],
                                   ["--numps", "0", "--numps=1"], ["--familyToken", "t"]])
def test_submit_refuses_malformed_options_as_usage(api: FakeApi, capsys: pytest.CaptureFixture[str],
                                                   extra: list[str]) -> None:
    code, out, err = run(capsys, "submit", *SUBMIT, *extra)
    assert (code, out, error_line(err)["kind"]) == (2, None, "usage")
    assert api.seen == []


def test_a_listed_parameter_given_twice_is_argparses_usage_error(
        api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["submit", *SUBMIT, "--jobName", "again"])
    assert done.value.code == 2 and "--jobName: is given twice" in capsys.readouterr().err
    assert api.seen == []


def test_detail_prints_the_detail(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("JobDetail", 200, {"jobId": "c1", "jobStatus": "running"})
    assert run(capsys, "detail", "c1") == (0, {"jobId": "c1", "jobStatus": "running"}, "")


def test_ip_waits_as_asked(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("GetJobIP", 200, {"IP": "10.0.0.7"})
    assert run(capsys, "ip", "c1", "--wait", "30") == (0, {"IP": "10.0.0.7"}, "")
    assert api.seen[0].params["jobId"] == "c1" and 29 < api.seen[0].params["wait"] <= 30


def test_kill_prints_the_result(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("KillJob", 200, {"result": KILL_OK})
    assert run(capsys, "kill", "c1") == (0, {"result": KILL_OK}, "")


def test_kill_after_a_lost_answer_says_why_cannot_kill_is_success(
        api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("KillJob", drop=True)
    api.answer("KillJob", 200, {"result": "Cannot Kill the job. Job ID: c1"})
    code, out, err = run(capsys, "kill", "c1")
    assert (code, out) == (0, {"result": "Cannot Kill the job. Job ID: c1"}) and "answer was lost" in err


def test_wait_prints_the_detail_once_the_status_is_reached(
        api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("JobDetail", 200, {"jobId": "c1", "jobStatus": "scheduling"})
    api.answer("JobDetail", 200, {"jobId": "c1", "jobStatus": "running"})
    code, out, _ = run(capsys, "wait", "c1", "--status", "running,finished", "--timeout", "30")
    assert (code, out["jobStatus"]) == (0, "running")


@pytest.mark.parametrize(("argv", "op", "status", "body", "code", "kind"), [
    (["detail", "c1"], "JobDetail", 200, {"error": "Could not find job with id c1"}, 3, "Refused"),
    (["kill", "c1"], "KillJob", 200, {"result": "Cannot Kill the job. Job ID: c1"}, 3, "Refused"),
    (["submit", *SUBMIT], "SubmitJob", 422, {"error": "other parameters"}, 4, "IdempotencyConflict"),
    (["detail", "c1"], "JobDetail", 403, {"error": "familyToken is required"}, 5, "Forbidden"),
    (["submit", *SUBMIT], "SubmitJob", 429, {"error": "too many submissions"}, 6, "OverLimit"),
    (["detail", "c1"], "JobDetail", 503, {"error": "the Kubernetes API failed"}, 7, "Unavailable"),
    (["wait", "c1", "--status", "running", "--timeout", "0"], "JobDetail", 200,
     {"jobId": "c1", "jobStatus": "queued"}, 8, "WaitTimeout"),
    (["wait", "c1", "--status", "running"], "JobDetail", 200,
     {"jobId": "c1", "jobStatus": "failed"}, 9, "JobEnded"),
    (["detail", "c1"], "JobDetail", 500, {"error": "internal error"}, 1, "DlwsError"),
])
def test_each_kind_of_error_has_its_exit_code_and_a_json_line(
        api: FakeApi, capsys: pytest.CaptureFixture[str], argv: list[str], op: str, status: int,
        body: dict[str, Any], code: int, kind: str) -> None:
    api.always(op, status, body, headers={"Retry-After": "2"})
    got, out, err = run(capsys, "--retry-for", "0", *argv)
    fields = error_line(err)
    assert (got, out, fields["kind"], fields["operation"]) == (code, None, kind, op)
    assert fields["error"].startswith(f"{op}: ") or kind in ("WaitTimeout", "JobEnded")


def test_outside_a_job_it_says_what_is_missing(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAMILY_TOKEN", raising=False)
    monkeypatch.delenv("DLWS_REST_API", raising=False)
    code, out, err = run(capsys, "detail", "c1")
    assert (code, out, error_line(err)["kind"]) == (10, None, "ConfigError")
    assert "FAMILY_TOKEN and DLWS_REST_API not set" in err


def test_help_documents_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0
    codes = {code for _, code, _ in EXIT_CODES}
    assert len(codes) == len(EXIT_CODES)  # distinct
    for kind, code, _ in EXIT_CODES:
        assert f"{code:>2}  {kind.__name__}:" in text
    assert " 2  usage" in text and " 0  success" in text


def test_python_m_dlws_client_is_the_command_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FAMILY_TOKEN", "DLWS_REST_API")}
    done = subprocess.run([sys.executable, "-m", "dlws_client", "detail", "c1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 10 and json.loads(done.stderr)["kind"] == "ConfigError"
