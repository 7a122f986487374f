"""The OpenAPI document says what the app serves."""
import re

import pytest

from api_shim import idempotency, openapi
from api_shim.app import init_app
from api_shim.routes import OPERATIONS
from api_shim.settings import Settings
from dlws_contract import spec
from tests.memory_store import MemoryJobStore


def test_every_operation_is_described_at_both_paths_with_get_and_post() -> None:
    paths = openapi.document()["paths"]
    for op in OPERATIONS:
        for path in (f"/child/{op}", f"/{op}"):
            assert set(paths[path]) == {"get", "post"}


async def test_every_route_of_the_app_is_in_the_document() -> None:
    store = MemoryJobStore()
    app = await init_app(Settings(), store=store, index=store.index)
    paths = openapi.document()["paths"]
    for resource in app.router.resources():
        canonical = resource.canonical
        if "{lead" in canonical:
            op = canonical.rsplit("}", 1)[-1]
            assert f"/child/{op}" in paths and f"/{op}" in paths
        else:
            assert canonical in paths, canonical
    served = {r.canonical.rsplit("}", 1)[-1] for r in app.router.resources() if "{lead" in r.canonical}
    documented = {p.rsplit("/", 1)[-1] for p in paths if p.startswith("/child/")}
    assert served == documented


def test_submit_parameters_are_the_parsers() -> None:
    params = openapi.document()["paths"]["/child/SubmitJob"]["get"]["parameters"]
    names = {p["name"] for p in params if p["in"] == "query"}
    # The idempotency key is the route's, not the job spec's (routes.py, idempotency.py).
    assert names == set(spec.SUBMIT_PARAMETERS) | {idempotency.PARAMETER}
    assert {p["name"] for p in params if p["in"] == "header"} == {idempotency.HEADER}


def test_submit_bounds_are_the_contracts() -> None:
    params = {p["name"]: p for p in openapi.document()["paths"]["/child/SubmitJob"]["get"]["parameters"]}
    assert params["jobName"]["schema"]["maxLength"] == spec.MAX_JOB_NAME
    assert params["cmd"]["schema"]["maxLength"] == spec.MAX_CMD
    assert params["resourcegpu"]["schema"]["maximum"] == spec.MAX_GPUS
    required = {n for n, p in params.items() if p["required"]}
    assert required == {"jobName", "resourcegpu", "dataPath", "image", "jobType"}


def test_operation_ids_are_unique() -> None:
    ids = [m["operationId"] for item in openapi.document()["paths"].values() for m in item.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_job_id_pattern_matches_the_shims(op: str) -> None:
    from api_shim.records import is_job_id
    params = {p["name"]: p for p in openapi.document()["paths"][f"/child/{op}"]["get"]["parameters"]}
    if "jobId" in params:
        pattern = re.compile(params["jobId"]["schema"]["pattern"])
        for value in ("abc", "a-b", "-a", "A", "a" * 63):
            assert bool(pattern.search(value)) == is_job_id(value)
