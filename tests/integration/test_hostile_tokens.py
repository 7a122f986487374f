"""Token attacks on the real shim: wrong tokens, another family's, prefixes, suffixes and
case variants of a real one, very long ones, and tokens in places the shim does not read
them. None gets access: no job is made, killed, described or located."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from kubernetes.aio import client

from dlws_contract import tokens
from tests.integration.faults import report
from tests.integration.jobs import Jobs, snapshot
from tests.integration.shim_fixture import Root, ShimClient, make_root

pytestmark = pytest.mark.cluster

JOB = {"jobName": "x", "resourcegpu": "0", "dataPath": "d", "image": "busybox", "jobType": "training"}


@dataclass(frozen=True)
class Attempt:
    """One way of presenting something other than the caller's valid token."""
    what: str
    query: dict[str, str]
    headers: dict[str, str]
    json_body: Any = None
    path_prefix: str = "/child/"


def q(token: str) -> dict[str, str]:
    return {"familyToken": token}


def variants(token: str, other: Root) -> list[Attempt]:
    swapped = token[:10] + ("0" if token[10] != "0" else "1") + token[11:]
    attempts = [
        Attempt("no token", {}, {}),
        Attempt("empty token", q(""), {}),
        Attempt("a fresh random token", q(tokens.new_token()), {}),
        Attempt("one character changed", q(swapped), {}),
        Attempt("prefix: all but the last character", q(token[:-1]), {}),
        Attempt("prefix: first half", q(token[:32]), {}),
        Attempt("prefix: first 16", q(token[:16]), {}),
        Attempt("suffix added", q(token + "0"), {}),
        Attempt("doubled", q(token + token), {}),
        Attempt("upper case", q(token.upper()), {}),
        Attempt("title case", q(token.title()), {}),
        Attempt("with spaces around, in the query", q(f" {token} "), {}),
        Attempt("percent-encoded in full", {}, {}, path_prefix="/child/"),  # built in the test
        Attempt("its digest", q(tokens.family_digest(token)), {}),
        Attempt("its digest, full length", q(tokens.family_digest(token) + "0"), {}),
        Attempt("10 kB", q(token * 160), {}),
        Attempt("60 kB", q("a" * 60_000), {}),
        Attempt("unicode look-alike", q(token.replace("a", "а")), {}),
        Attempt("NUL inside", q(token[:32] + "\x00" + token[32:]), {}),
        Attempt("Authorization: Basic", {}, {"Authorization": "Basic " + base64.b64encode(token.encode()).decode()}),
        Attempt("Authorization without scheme", {}, {"Authorization": token}),
        Attempt("Bearer of another family with ours in the query", q(token), {"Authorization": f"Bearer {other.token}"}),
        Attempt("X-Family-Token header", {}, {"X-Family-Token": token}),
        Attempt("Cookie", {}, {"Cookie": f"familyToken={token}"}),
        Attempt("lower-case parameter name", {"familytoken": token}, {}),
        Attempt("as jobId", {"jobId": token}, {}),
        Attempt("in the path", {}, {}, path_prefix=f"/child/{token}/"),
        Attempt("JSON list", {}, {}, json_body={"familyToken": [token]}),
        Attempt("JSON object", {}, {}, json_body={"familyToken": {"$ne": ""}}),
        Attempt("JSON true", {}, {}, json_body={"familyToken": True}),
        Attempt("query and body disagree", q(other.token), {}, json_body={"familyToken": token}),
    ]
    return attempts


def granted(op: str, status: int, body: dict[str, Any]) -> bool:
    """Whether an answer gave access: made, killed, described or located a job."""
    if status != 200:
        return False
    return bool(body.get("jobId") if op != "JobDetail" else body.get("jobName")) or \
        body.get("result", "").startswith("Success") or bool(body.get("IP"))


async def test_no_token_variant_or_misplaced_token_gets_access(
        api: client.ApiClient, namespace: str, other_namespace: str, operator: Any, shim: Any,
        http: aiohttp.ClientSession) -> None:
    ours = await make_root(api, namespace)
    other = await make_root(api, other_namespace)
    child = (await ShimClient(http, shim.url).submit(ours.token))["jobId"]
    await Jobs(api, namespace).running_with_ip(child)
    before = await snapshot(api, namespace, other_namespace)
    base = shim.url.rstrip("/")
    sent = granted_count = 0
    for attempt in variants(ours.token, other):
        for op, params in (("SubmitJob", JOB), ("KillJob", {"jobId": child}),
                           ("JobDetail", {"jobId": child}), ("GetJobIP", {"jobId": child})):
            url = f"{base}{attempt.path_prefix}{op}"
            if attempt.what == "percent-encoded in full":
                encoded = "".join(f"%{b:02X}" for b in ours.token.encode())
                url = f"{url}?familyToken={encoded[:-3]}%2{encoded[-1]}"  # last character altered
            query = {**params, **attempt.query}
            kwargs: dict[str, Any] = {"headers": attempt.headers, "allow_redirects": False}
            if attempt.json_body is not None:
                request = http.post(url, params=query, json={**params, **attempt.json_body}, **kwargs)
            else:
                request = http.get(url, params=query, **kwargs)
            async with request as resp:
                text = await resp.text()
            sent += 1
            assert resp.status in (400, 403, 404), (attempt.what, op, resp.status, text[:200])
            assert ours.token not in text and other.token not in text
            if resp.content_type == "application/json":
                body = json.loads(text)
                granted_count += granted(op, resp.status, body)
    assert granted_count == 0
    assert await snapshot(api, namespace, other_namespace) == before

    # Another family's valid token reaches its own family only.
    shim_client = ShimClient(http, shim.url)
    for op in ("KillJob", "JobDetail", "GetJobIP"):
        status, body, _ = await shim_client.call(op, other.token, jobId=child)
        sent += 1
        assert status == 200 and not granted(op, status, body), (op, body)
    status, body, _ = await shim_client.call("SubmitJob", other.token, parentJobId=child, **JOB)
    sent += 1
    assert body == {"error": f"Could not find parent job with id {child}"}
    assert await snapshot(api, namespace, other_namespace) == before
    report("token attacks", requests=sent, variants=len(variants(ours.token, other)) + 1,
           unauthorised_accesses=granted_count, cluster_changes=0)

