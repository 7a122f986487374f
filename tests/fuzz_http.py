"""Property-based fuzzing of the shim's HTTP surface, shared by the unit fuzz (in-memory
store) and the integration fuzz (real shim process and API server).

Every operation, at every path form, by GET (query) and POST (JSON, form, or raw bytes
of any content type), with known and unknown parameters holding hostile values, and
tokens that are right, wrong, another family's or absent. Each answer must be JSON
with a declared status, hold no traceback and no token, and say what it did: a job is
made exactly when SubmitJob answers a jobId.

Examples are drawn by hypothesis; DLWS_LONG_TESTS=1 (`make fuzz`) draws many more.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from dlws_contract.spec import SUBMIT_PARAMETERS

LONG = os.environ.get("DLWS_LONG_TESTS") == "1"
OPERATIONS = ("SubmitJob", "KillJob", "JobDetail", "GetJobIP")
# What the shim may answer when the API server is up. 503 is declared only for the API
# being unavailable (or the index loading), so a fuzz run against a healthy API allows
# no 5xx at all.
ALLOWED_STATUSES = frozenset({200, 400, 403, 404, 405, 408, 413, 429})
OK_KEYS = {
    "SubmitJob": ({"jobId"}, {"error"}),
    "KillJob": ({"result"},),
    "JobDetail": ({"error"},),  # or a detail, told apart by its jobId key
    "GetJobIP": ({"IP"}, {"error"}),
}


def fuzz_settings(examples: int, long_examples: int) -> settings:
    return settings(max_examples=long_examples if LONG else examples, deadline=None, derandomize=not LONG,
                    suppress_health_check=list(HealthCheck), database=None)


@dataclass(frozen=True)
class Tokens:
    good: str
    other: str  # a live token of another family


@dataclass(frozen=True)
class Call:
    op: str
    path: str
    method: str
    token_kind: str
    token_where: str
    params: dict[str, Any]
    body_kind: str
    raw_body: bytes
    content_type: str

    def token(self, tokens: Tokens) -> str | None:
        return {"good": tokens.good, "other": tokens.other, "none": None, "upper": tokens.good.upper(),
                "prefix": tokens.good[:-1], "suffix": tokens.good + "0", "long": tokens.good * 50,
                "padded": f" {tokens.good} ", "digest-like": "f" * 63,
                "junk": "x' OR '1'='1"}[self.token_kind]


texts = st.text(max_size=80) | st.sampled_from([
    "", " ", "..", "../..", "/", "a/b", "default/x", "%2e%2e", "x,y", "!x", "a in (b)", "*",
    "$(id)", "`id`", "; rm -rf /", "a\nb", "\x00", "é", "𝔘", "-1", "1e309", "nan", "99999999999999",
    "{}", "[]", '{"A": "1"}', "null", "true", "0", "1", "RegularJob", "MPIDistJob",
])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)
# SubmitJob parameters that take any text (within a length).
free_text_names = st.sampled_from(["cmd", "workPath", "jobPath", "logDir", "userName", "isParent"])
names = st.sampled_from(sorted(SUBMIT_PARAMETERS | {"jobId", "wait", "namespace", "labelSelector"})) \
    | st.text(max_size=12)


@st.composite
def calls(draw: st.DrawFn, ids: tuple[str, ...]) -> Call:
    """ids: jobs that exist (the caller's and another family's), for jobId and parentJobId."""
    op = draw(st.sampled_from(OPERATIONS))
    form = draw(st.sampled_from(["/child/{}"] * 4 + ["/{}", "//child//{}", "/child/{}/", "/CHILD/{}"]))
    method = draw(st.sampled_from(["GET", "POST"]))
    body_kind = draw(st.sampled_from(["json", "form", "raw"])) if method == "POST" else "none"
    values = json_values if body_kind == "json" else texts
    # Half the calls are near-valid (only free-text parameters vary), so deeper code runs.
    if draw(st.booleans()):
        params: dict[str, Any] = dict(draw(st.dictionaries(free_text_names, texts, max_size=3)))
        if op == "SubmitJob":
            params = {"jobName": "f", "resourcegpu": "0", "dataPath": "d", "image": "busybox",
                      "jobType": "training", **params}
    else:
        params = draw(st.dictionaries(names, values, max_size=8))
    params.pop("familyToken", None)
    if draw(st.booleans()):
        params["parentJobId" if op == "SubmitJob" else "jobId"] = draw(st.sampled_from(ids))
    return Call(op=op, path=form.format(op), method=method,
                token_kind=draw(st.sampled_from(["good"] * 6 + ["other", "other", "none", "upper", "prefix", "suffix",
                                                 "long", "padded", "digest-like", "junk"])),
                token_where=draw(st.sampled_from(["query", "header", "body", "both"])),
                params=params, body_kind=body_kind, raw_body=draw(st.binary(max_size=64)),
                content_type=draw(st.sampled_from(["text/plain", "application/json", "application/xml",
                                                   "multipart/form-data; boundary=x", ""])))


def send(base_url: str, call: Call, tokens: Tokens, timeout: float = 30.0) -> requests.Response:
    token = call.token(tokens)
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    body: dict[str, Any] = dict(call.params)
    if token is not None:
        if call.token_where in ("query", "both"):
            query["familyToken"] = token
        if call.token_where in ("header", "both"):
            headers["Authorization"] = f"Bearer {token}"
        if call.token_where == "body":
            if call.method == "POST":
                body["familyToken"] = token
            else:
                query["familyToken"] = token
    url = base_url.rstrip("/") + call.path
    if call.method == "GET":
        query.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
        return requests.get(url, params=query, headers=headers, timeout=timeout, allow_redirects=False)
    if call.body_kind == "json":
        # Serialised here: json.dumps writes NaN and Infinity (not JSON, but what a careless
        # client sends), which requests would refuse to.
        headers["Content-Type"] = "application/json"
        return requests.post(url, params=query, data=json.dumps(body).encode(), headers=headers,
                             timeout=timeout, allow_redirects=False)
    if call.body_kind == "form":
        return requests.post(url, params=query, data={k: str(v) for k, v in body.items()}, headers=headers,
                             timeout=timeout, allow_redirects=False)
    headers["Content-Type"] = call.content_type
    return requests.post(url, params=query, data=call.raw_body, headers=headers, timeout=timeout,
                         allow_redirects=False)


def check_answer(call: Call, resp: requests.Response, tokens: Tokens) -> dict[str, Any]:
    """The answer's JSON, after checking what every answer must be."""
    text = resp.text
    assert resp.status_code in ALLOWED_STATUSES, (resp.status_code, text[:300], call)
    assert resp.headers.get("Content-Type", "").startswith("application/json"), (resp.headers, call)
    assert "Traceback" not in text and "File \"" not in text, text[:300]
    assert tokens.good not in text and tokens.other not in text, (text[:300], call)
    body = json.loads(text)
    assert isinstance(body, dict), body
    if resp.status_code != 200:
        assert set(body) == {"error"}, body
        return body
    if call.op == "JobDetail" and "jobId" in body:
        return body
    assert set(body) in [set(keys) for keys in OK_KEYS[call.op]], (body, call)
    return body


def family_of(call: Call) -> str | None:
    """Whose valid token this call presents: "good", "other", or None (no valid token).
    A token with spaces around it counts only in the header, which is stripped; one
    meant for the body of a raw POST is not sent at all."""
    if call.token_kind == "padded":
        return "good" if call.token_where == "header" else None
    if call.token_kind not in ("good", "other"):
        return None
    return None if call.token_where == "body" and call.body_kind == "raw" else call.token_kind
