"""Bad requests get clear errors and create nothing in the cluster."""
from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.aio import client

from tests.integration.jobs import Jobs
from tests.integration.shim_fixture import make_root

pytestmark = pytest.mark.cluster

GOOD = {"jobName": "x", "resourcegpu": "0", "dataPath": "d", "image": "busybox", "jobType": "training"}

# (what is wrong, parameters replacing or removing (None) good ones, words the error holds)
BAD_QUERIES = [
    ("missing jobName", {"jobName": None}, "job name cannot be empty"),
    ("missing resourcegpu", {"resourcegpu": None}, "Number of GPU cannot be empty"),
    ("missing dataPath", {"dataPath": None}, "datapath cannot be empty"),
    ("missing image", {"image": None}, "docker image cannot be empty"),
    ("missing jobType", {"jobType": None}, "jobType cannot be empty"),
    ("resourcegpu not a number", {"resourcegpu": "two"}, "resourcegpu must be a whole number"),
    ("resourcegpu huge", {"resourcegpu": "999999999999"}, "resourcegpu must be between"),
    ("port not a number", {"interactivePort": "http"}, "interactivePort must be a whole number"),
    ("port out of range", {"interactivePort": "70000"}, "interactivePort must be between"),
    ("runningasroot not a flag", {"runningasroot": "maybe"}, "runningasroot must be 0 or 1"),
    ("distributed job", {"jobtrainingtype": "MPIDistJob"}, "not supported"),
    ("unknown training type", {"jobtrainingtype": "Quantum"}, "unknown jobtrainingtype"),
    ("unknown parameter", {"gpus": "1"}, "unknown parameter"),
    ("huge jobName", {"jobName": "n" * 300}, "jobName is too long"),
    ("huge cmd", {"cmd": "c" * 17000}, "cmd is too long"),
    ("reserved env", {"env": json.dumps({"FAMILY_TOKEN": "x"})}, "reserved"),
    ("env not JSON", {"env": "A=1"}, "env must be a JSON object"),
]


async def count_jobs(api: client.ApiClient, namespace: str) -> int:
    return len(await Jobs(api, namespace).list_jobs())


@pytest.fixture
async def root(api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> Any:
    return await make_root(api, namespace)


async def test_bad_parameters_get_clear_errors_and_create_nothing(
        api: client.ApiClient, namespace: str, root: Any, shim: Any, http: Any) -> None:
    for what, change, words in BAD_QUERIES:
        params = {**GOOD, **{k: v for k, v in change.items() if v is not None}, "familyToken": root.token}
        for k in [k for k, v in change.items() if v is None]:
            del params[k]
        async with http.get(f"{shim.url}child/SubmitJob", params=params) as resp:
            body = await resp.json()
        assert resp.status == 200 and words in body.get("error", ""), (what, body)
    assert await count_jobs(api, namespace) == 1  # the root only


async def test_bad_bodies_get_clear_errors_and_create_nothing(
        api: client.ApiClient, namespace: str, root: Any, shim: Any, http: Any) -> None:
    url = f"{shim.url}child/SubmitJob?familyToken={root.token}"
    cases = [
        ("malformed JSON", b'{"jobName": "x",', "application/json", 400, "not valid JSON"),
        ("JSON not an object", b'["x"]', "application/json", 400, "must be an object"),
        ("JSON of wrong types", json.dumps({**GOOD, "resourcegpu": [1]}).encode(), "application/json",
         200, "resourcegpu must be a whole number"),
        ("oversized body", json.dumps({**GOOD, "cmd": "x" * 100_000}).encode(), "application/json",
         413, "too large"),
        ("plain text", b"jobName=x", "text/plain", 400, "JSON object or form"),
    ]
    for what, data, kind, status, words in cases:
        async with http.post(url, data=data, headers={"Content-Type": kind}) as resp:
            assert resp.content_type == "application/json", what
            body = await resp.json()
        assert resp.status == status and words in body["error"], (what, resp.status, body)
    assert await count_jobs(api, namespace) == 1

