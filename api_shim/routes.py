"""The HTTP surface: the four /child operations, health, readiness, metrics, OpenAPI.

Handlers are glue: parameters in, a family from the token, a pure builder or lookup, one
store call, a JSON reply. Each operation is served at /child/<Op> and /<Op>, GET and
POST, with any run of slashes accepted where one is expected: the seed samples build
both `$DLWS_REST_API + "/child/SubmitJob"` and `$DLWS_REST_API + "KillJob"` from a
DLWS_REST_API ending in "/". The slashes are matched by the route itself rather than by
a redirect, because a redirect would echo the query, token included, in Location.
"""
from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from aiohttp import web

from api_shim import openapi
from api_shim.access_log import REDACTED
from api_shim.auth import Family, authenticate, presented_token
from api_shim.child_job import build_child
from api_shim.detail import job_detail
from api_shim.errors import NotReady, TooMany
from api_shim.families import ancestry, find_job, find_job_object
from api_shim.keys import LIMITS, METRICS, SETTINGS, STORE
from api_shim.limits import LimitExceeded
from api_shim.params import read_params
from api_shim.records import JobRecord
from api_shim.replies import Reply, app_error
from api_shim.store import Deleted, Rejected
from dlws_contract import phases
from dlws_contract.spec import InvalidJob, spec_from_parameters

KILL_OK: Final = "Success, the job is scheduled to be terminated."
TOKEN_PARAM: Final = "familyToken"


def op_path(op: str) -> str:
    """/Op, /child/Op, //child//Op, ...: one or more slashes, an optional child/ segment."""
    return r"/{lead:/*(?:child/+)?}" + op


class Call:
    """An authenticated call: its parameters and family, and the token only to keep it out
    of what we write and answer."""

    def __init__(self, params: dict[str, Any], family: Family, token: str) -> None:
        self.params = params
        self.family = family
        self._token = token

    def text(self, name: str) -> str:
        value = self.params.get(name)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return ""
        return str(value).strip()

    def echo(self, value: str) -> str:
        """A caller's value fit to repeat in an answer: never the token, never huge."""
        return value.replace(self._token, REDACTED)[:256] if self._token else value[:256]

    def carries_token(self) -> bool:
        """Whether any parameter other than familyToken holds the token (e.g. an env
        value): it would then be written into a DLWSJob spec."""
        for name, value in self.params.items():
            if name == TOKEN_PARAM:
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            if self._token in text:
                return True
        return False


async def authenticated(request: web.Request) -> Call:
    params = await read_params(request)
    store = request.app[STORE]
    if not store.index.synced:
        raise NotReady("the shim is still loading the job index; try again in a moment")
    token = presented_token(params, request.headers.get("Authorization"))
    family = authenticate(store.index, token)
    limits = request.app[LIMITS]
    within_limit(request, lambda: limits.take_request(family.digest, asyncio.get_running_loop().time()))
    return Call(params, family, token)


def within_limit(request: web.Request, check: Callable[[], None]) -> None:
    try:
        check()
    except LimitExceeded as e:
        request.app[METRICS].limit_rejections.labels(e.limit).inc()
        raise TooMany(e.message, retry_after=e.retry_after) from None


def status_word(job: JobRecord) -> str:
    return str(phases.dlws_status(phases.KILLING if job.deleting else job.phase))


# --- the four operations -------------------------------------------------------------


async def submit_job(request: web.Request) -> web.StreamResponse:
    call = await authenticated(request)
    store, limits, settings = request.app[STORE], request.app[LIMITS], request.app[SETTINGS]
    family = call.family
    if call.carries_token():
        return app_error("the family token must not be passed as a job parameter: "
                         "every job of the family gets it as $FAMILY_TOKEN")
    try:
        spec = spec_from_parameters(call.params)
    except InvalidJob as e:
        return app_error(str(e))
    parent_id = call.text("parentJobId") or family.root.name
    now = asyncio.get_running_loop().time()
    within_limit(request, lambda: limits.take_submission(family.digest, now))

    parent = await find_job(store, family, parent_id)
    if parent is None:
        return app_error(f"Could not find parent job with id {call.echo(parent_id)}")
    chain = ancestry(store, family, parent, settings.max_depth)
    if chain is None or any(job.deleting for job in chain):
        return app_error(f"job {parent.name} is being killed (itself or a job above it): "
                         f"it cannot get new children")
    within_limit(request, lambda: limits.check_depth(len(chain)))

    name = str(uuid.uuid4())
    index = store.index
    within_limit(request, lambda: limits.reserve(
        family.digest, name, indexed_live=index.live_count(family.digest, family.namespace),
        is_indexed=lambda job: index.get(family.namespace, job) is not None, now=now))
    body = build_child(name=name, spec=spec, parent=parent, root=family.root, digest=family.digest)
    try:
        await store.create(family.namespace, body)
    except Rejected as e:
        limits.release(family.digest, name)
        return app_error(f"the job was refused: {e}")
    except BaseException:
        limits.release(family.digest, name)
        raise
    return Reply({"jobId": name})


async def kill_job(request: web.Request) -> web.StreamResponse:
    call = await authenticated(request)
    store = request.app[STORE]
    job_id = call.text("jobId")
    job = await find_job(store, call.family, job_id)
    if job is None or await store.delete(job.namespace, job.name, job.uid) is Deleted.GONE:
        return Reply({"result": f"Cannot Kill the job. Job ID: {call.echo(job_id)}"},
                     outcome="app_error")
    return Reply({"result": KILL_OK})


async def job_detail_op(request: web.Request) -> web.StreamResponse:
    call = await authenticated(request)
    job_id = call.text("jobId")
    obj = await find_job_object(request.app[STORE], call.family, job_id)
    if obj is None:
        return app_error(f"Could not find job with id {call.echo(job_id)}")
    return Reply(job_detail(obj))


def wait_seconds(raw: object, bound: float) -> float:
    """GetJobIP's optional `wait`: seconds to hold the request for an IP, at most bound."""
    if raw is None or raw == "":
        return 0.0
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw) if isinstance(raw, (int, float, str)) else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError("wait must be a number of seconds, 0 or more")
    return min(value, bound)


async def get_job_ip(request: web.Request) -> web.StreamResponse:
    call = await authenticated(request)
    store, settings = request.app[STORE], request.app[SETTINGS]
    family = call.family
    job_id = call.text("jobId")
    try:
        wait = wait_seconds(call.params.get("wait"), settings.max_ip_wait)
    except ValueError as e:
        return app_error(str(e))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    job = await find_job(store, family, job_id)
    while job is not None and not job.pod_ip:
        remaining = deadline - loop.time()
        if remaining <= 0 or job.deleting or job.phase in phases.FINISHED_PHASES:
            return app_error(f"Job {job.name} has no IP yet: it is {status_word(job)}")
        # Woken by the watch when this job changes; no polling of the API server.
        changed = await store.index.wait_for_change(family.namespace, job.name, remaining)
        fresh = store.index.get(family.namespace, job.name)
        if fresh is not None:
            job = fresh if fresh.family == family.digest else None
        elif changed:
            job = None  # deleted while we waited
    if job is None:
        return app_error(f"Could not find job with id {call.echo(job_id)}")
    return Reply({"IP": job.pod_ip})


# --- service endpoints ---------------------------------------------------------------


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.StreamResponse:
    if request.app[STORE].index.synced:
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "loading the job index"}, status=503)


async def metrics(request: web.Request) -> web.StreamResponse:
    return request.app[METRICS].exposition()


async def openapi_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(openapi.document())


OPERATIONS: Final[Mapping[str, Callable[[web.Request], Any]]] = {
    "SubmitJob": submit_job,
    "KillJob": kill_job,
    "JobDetail": job_detail_op,
    "GetJobIP": get_job_ip,
}


def setup_routes(app: web.Application) -> None:
    for op, handler in OPERATIONS.items():
        for method in ("GET", "POST"):
            app.router.add_route(method, op_path(op), handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi_json)
