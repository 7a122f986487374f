"""The HTTP surface: the four /child operations, health, readiness, metrics, OpenAPI.

Handlers are glue: parameters in, a family from the token, a pure builder or lookup, one
store call (SubmitJob's create is confirmed by reads: Family.create_below), a JSON reply.
Each operation is served at /child/<Op> and /<Op>, GET and POST, with any run of slashes
accepted where one is expected: the seed samples build both
`$DLWS_REST_API + "/child/SubmitJob"` and `$DLWS_REST_API + "KillJob"` from a
DLWS_REST_API ending in "/". The slashes are matched by the route itself rather than by
a redirect, because a redirect would echo the query, token included, in Location.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from api_shim import idempotency, openapi
from api_shim.attribution import Outcome
from api_shim.auth import Call, authenticate
from api_shim.child_job import build_child
from api_shim.detail import job_detail
from api_shim.families import ChainKilled, Family
from api_shim.job_address import job_address
from api_shim.job_log import job_log
from api_shim.keys import ADMISSION, CALLERS, INDEX, KILLS, METRICS, SETTINGS, SHUTDOWN, STORE
from api_shim.killed import applies, gone_detail, no_ip, with_kill
from api_shim.params import read_params
from api_shim.pod_index import PodIndex
from api_shim.records import JobRecord, PodRecord, is_job_id, record_from_object
from api_shim.replies import Reply, app_error
from api_shim.store import Deleted, Exists, Rejected, Unavailable
from dlws_contract import kill_record, kube_api, phases, resource
from dlws_contract.spec import InvalidJob, spec_from_parameters

KILL_OK: Final = "Success, the job is scheduled to be terminated."

log = logging.getLogger(__name__)


def op_path(op: str) -> str:
    """/Op, /child/Op, //child//Op, ...: one or more slashes, an optional child/ segment."""
    return r"/{lead:/*(?:child/+)?}" + op


# --- the four operations -------------------------------------------------------------


async def authenticated(request: web.Request) -> Call:
    """The request's parameters and family, counted against the family's request rate."""
    app = request.app
    params = await read_params(request, timeout=app[SETTINGS].read_timeout)
    call = authenticate(params, request.headers.get("Authorization"), app[INDEX], app[STORE])
    app[ADMISSION].request(call.family)
    return call


async def submit_job(request: web.Request) -> web.StreamResponse:
    call = await authenticated(request)
    family = call.family
    if call.carries_token():
        return app_error("the family token must not be passed as a job parameter: "
                         "every job of the family gets it as $FAMILY_TOKEN")
    key = idempotency.presented_key(call.params, request.headers.get(idempotency.HEADER))
    try:
        spec = spec_from_parameters({k: v for k, v in call.params.items() if k != idempotency.PARAMETER},
                                    gpu_types=request.app[SETTINGS].gpu_type_names,
                                    max_pods=request.app[SETTINGS].max_pods_per_job)
    except InvalidJob as e:
        return app_error(str(e))
    parent = await parent_of(request, call)
    if isinstance(parent, Reply):
        return parent
    chain = family.chain(parent, request.app[SETTINGS].max_depth)
    # The index's word is enough to refuse; only the API server's is enough to accept.
    if chain is None or any(job.deleting for job in chain):
        dying = next((job.name for job in chain or () if job.deleting), "a job above it (gone)")
        return being_killed(parent, dying, "in the index")
    keyed = Keyed(idempotency.job_name(family.digest, key), idempotency.fingerprint(spec, parent.name)) if key else None
    if keyed and family.is_indexed(keyed.name):  # a retry after its job was made: not a new submission
        return await replay(family, keyed, chain, parent)
    try:
        async with request.app[ADMISSION].submission(family, chain, keyed.name if keyed else None) as name:
            child = build_child(name=name, spec=spec, parent=parent, root=family.root, digest=family.digest,
                                fingerprint=keyed.fingerprint if keyed else None)
            await family.create_below(child, chain, keyed=keyed is not None)
    except Exists:
        if keyed is None:
            raise  # a fresh uuid4 taken: the 500 of a broken invariant, not a replay
        return await replay(family, keyed, chain, parent)
    except InvalidJob as e:  # the root's userName names no directory (build_child)
        return app_error(str(e))
    except Rejected as e:
        return app_error(f"the job was refused: {e}")
    except ChainKilled as e:
        return being_killed(parent, e.dying.name, f"read after the create; job {e.child} deleted again")
    return Reply({"jobId": name})


async def parent_of(request: web.Request, call: Call) -> JobRecord | Reply:
    """The new job's parent: parentJobId if the call names one, else the calling job (the
    family member whose Pod sent it), else the family's root."""
    callers = request.app[CALLERS]
    if parent_id := call.text("parentJobId"):
        callers.count(Outcome.PARENT_GIVEN)
        parent = await call.family.find(parent_id)
        return parent or app_error(f"Could not find parent job with id {call.echo(parent_id)}")
    caller = await callers.calling_job(call.family, request)
    if caller.outcome is Outcome.DYING:
        return being_killed(caller.dying, caller.dying, "the calling job")
    return caller.job or call.family.root


@dataclass(frozen=True)
class Keyed:
    name: str         # the jobId the idempotency key gives in this family
    fingerprint: str  # what the call asked for


async def replay(family: Family, keyed: Keyed, chain: list[JobRecord], parent: JobRecord) -> Reply:
    """The answer for a key whose job an earlier call made (or is making): that jobId, once
    it is confirmed as a new job's would be; never a second job."""
    earlier = await family.read(keyed.name)
    if earlier is None:
        return app_error(f"the job this idempotency key made, {keyed.name}, is gone; "
                         "a new key makes a new job")
    if idempotency.fingerprint_of(earlier) != keyed.fingerprint:
        raise idempotency.KeyConflict("this idempotency key was used for a job with other "
                                      "parameters; use a new key for a new job")
    if (earlier.get("metadata") or {}).get("deletionTimestamp"):
        return being_killed(parent, keyed.name, "the idempotency key's job itself")
    try:
        await family.confirm_below(earlier, chain, keyed=True)
    except ChainKilled as e:
        return being_killed(parent, e.dying.name, f"read for a replay; job {e.child} deleted again")
    log.info("SubmitJob replayed job %s/%s for a repeated idempotency key", family.namespace, keyed.name)
    return Reply({"jobId": keyed.name}, headers={idempotency.REPLAYED_HEADER: "true"})


def being_killed(parent: JobRecord | str, dying: str, seen: str) -> Reply:
    name = parent if isinstance(parent, str) else parent.name
    log.info("SubmitJob under %s refused: %s is being killed or gone (%s)", name, dying, seen)
    return app_error(f"job {name} is being killed (itself or a job above it): "
                     f"it cannot get new children")


async def kill_job(request: web.Request) -> web.StreamResponse:
    call = await authenticated(request)
    job_id = call.text("jobId")
    job = await call.family.find(job_id)
    # The jobs the kill takes, as the index holds them before the delete.
    taken = request.app[INDEX].subtree(job.namespace, job.name) if job is not None else []
    if job is None or await request.app[STORE].delete(job.namespace, job.name, job.uid) is Deleted.GONE:
        return Reply({"result": f"Cannot Kill the job. Job ID: {call.echo(job_id)}"},
                     outcome="app_error")
    await record_kill(request, call.family, job, taken or [job])
    return Reply({"result": KILL_OK})


async def record_kill(request: web.Request, family: Family, job: JobRecord, taken: list[JobRecord]) -> None:
    """The kill's one write of ours (kill_record.py), made before KillJob answers, so a
    JobDetail sent after the answer finds it. A record that cannot be written loses only
    the "killed" answer of these jobs, not the kill: logged, not refused."""
    jobs, left_out = kill_record.bounded(
        kill_record.KilledJob(name=j.name, uid=j.uid, job_name=j.job_name, parent=j.parent, created=j.created)
        for j in taken)
    record = kill_record.KillRecord(namespace=job.namespace, killed=job.name, killed_at=kube_api.timestamp(),
                                    family=family.digest, root=family.root.name, ttl=None, jobs=jobs,
                                    left_out=left_out)
    root = family.root
    owner = None if root.name == job.name else {"metadata": {"name": root.name, "uid": root.uid}}
    try:
        await request.app[STORE].record_kill(job.namespace, kill_record.build_record(record, owner))
    except Unavailable:
        log.warning("job %s/%s was killed, but its kill record could not be written", job.namespace, job.name)


async def job_detail_op(request: web.Request) -> web.StreamResponse:
    call = await authenticated(request)
    job_id = call.text("jobId")
    with_log = call.text("log")
    if with_log not in ("", "0", "1"):
        return app_error("log must be 0 (JobDetail without the job's log) or 1 (with it, the default)")
    obj = await call.family.read(job_id)
    kills = request.app[KILLS]
    if obj is None:
        if is_job_id(job_id) and (killed := applies(kills.get(call.family.namespace, job_id),
                                                    call.family.digest, None)):
            return Reply(gone_detail(killed))
        return app_error(f"Could not find job with id {call.echo(job_id)}")
    detail = job_detail(obj)
    if with_log != "0":
        text = await job_log(request.app[STORE], obj, request.app[SETTINGS].job_storage)
        detail["log"] = call.redact(text)
    if killed := applies(kills.get(call.family.namespace, job_id), call.family.digest, record_from_object(obj)):
        detail = with_kill(detail, killed)
    return Reply(detail)


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


def job_ips(job: JobRecord, address: str | None) -> dict[str, Any]:
    """GetJobIP's answer: the document's {"IP": address}; a distributed job's is ps-0's,
    and IPs lists each of its Pods."""
    answer: dict[str, Any] = {"IP": address}
    if job.members:
        answer["IPs"] = [{"role": role, "index": index, "IP": ip} for role, index, ip in job.members]
    return answer


async def get_job_ip(request: web.Request) -> web.StreamResponse:
    call = await authenticated(request)
    job_id = call.text("jobId")
    try:
        wait = wait_seconds(call.params.get("wait"), request.app[SETTINGS].max_ip_wait)
    except ValueError as e:
        return app_error(str(e))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    pods = request.app[CALLERS].pods  # None with the caller lookup off: the status alone
    job = await call.family.find(job_id)
    if is_job_id(job_id) and (killed := applies(request.app[KILLS].get(call.family.namespace, job_id),
                                                call.family.digest, job)):
        return app_error(no_ip(killed))
    # A distributed job's answer is ps-0's address, and waits for every Pod's (IPs).
    while job is not None and ((address := job_address(job, pod_of(pods, job))) is None
                               or not job.members_have_ips):
        remaining = deadline - loop.time()
        # Killing without a deletion yet: the operator withheld its Pod (ancestry.py).
        if remaining <= 0 or job.deleting or job.phase in (*phases.FINISHED_PHASES, phases.KILLING):
            if address is not None:
                break
            return app_error(f"Job {job.name} has no IP yet: it is {phases.job_status(job.phase, job.deleting)}")
        # Woken by the watches when this job or its Pod changes; no polling of the API server.
        job = await next_state(call.family, pods, job, remaining)
    if job is None:
        return app_error(f"Could not find job with id {call.echo(job_id)}")
    return Reply(job_ips(job, address))


def pod_of(pods: PodIndex | None, job: JobRecord) -> PodRecord | None:
    return None if pods is None else pods.get(job.namespace, resource.pod_name(job.name))


async def next_state(family: Family, pods: PodIndex | None, job: JobRecord, timeout: float) -> JobRecord | None:
    """The job after the next change to it or to its Pod, whichever comes first."""
    if pods is None:
        return await family.next_state(job, timeout)
    job_changed = asyncio.ensure_future(family.next_state(job, timeout))
    pod_changed = asyncio.ensure_future(pods.wait_for_pod(job.namespace, resource.pod_name(job.name), timeout))
    done, pending = await asyncio.wait((job_changed, pod_changed), return_when=asyncio.FIRST_COMPLETED)
    for waiting in pending:
        waiting.cancel()
    return job_changed.result() if job_changed in done else family.current(job)


# --- service endpoints ---------------------------------------------------------------


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.StreamResponse:
    if request.app[SHUTDOWN].begun:  # the Service drops this replica; it still serves (shutdown.py)
        return web.json_response({"status": "shutting down"}, status=503)
    pods = request.app[CALLERS].pods
    if request.app[INDEX].synced and request.app[KILLS].synced and (pods is None or pods.synced):
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "loading the job index"}, status=503)


async def metrics(request: web.Request) -> web.StreamResponse:
    return request.app[METRICS].exposition()


async def openapi_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(openapi.document())


OPERATIONS: Final[Mapping[str, Handler]] = {
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
