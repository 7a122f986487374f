"""The handlers of a job's life: each reads what it needs, asks decisions.py (pure: what
each state of a job, its Pod and the jobs above it calls for, drawn there) and carries
the answer out; everything else here is the carrying out.

kopf calls run_job and on_job_event for DLWSJobs; the pod mirror (pod_mirror.py) calls
mirror_pod for each changed Pod. Level-based and idempotent: every name is deterministic
(the Pod, the family Secret), so a handler that runs twice or an operator restarted at
any moment finds what it made instead of making it again. No handler here adds a
finalizer: a kill never waits on us.
"""
import asyncio
import datetime
import logging
import time
from typing import Any, NoReturn

import kopf
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import kube_api, phases, resource
from dlws_contract.compute import effective_resources
from dlws_contract.kube_api import core_path, job_path, namespace_terminating, server_message
from dlws_contract.spec import job_spec
from dlws_operator import decisions, metrics, pod_spec, service_spec
from dlws_operator.ancestry import check_chain
from dlws_operator.decisions import JobEvent, Mirror, Notice, PodLost, Refuse, Run, Stop, WaitForRoom
from dlws_operator.event_poster import post_event
from dlws_operator.events import JobRef
from dlws_operator.family import ensure_family, verify_child
from dlws_operator.kopf_config import WAITING_MARK, WaitingForRoom
from dlws_operator.pod_cache import Change
from dlws_operator.refusals import pod_refusal, retry_delay
from dlws_operator.retry import retry_transient
from dlws_operator.runtime import Runtime
from dlws_operator.status import PodState, killing_status, refused_status, waiting_status

JOBS = (resource.GROUP, resource.VERSION, resource.PLURAL)

log = logging.getLogger(__name__)


def notify(memo: Runtime, job: JobRef, notice: Notice) -> None:
    post_event(memo.events, job, type=notice.type, reason=notice.reason, message=notice.message)


def refuse(patch: kopf.Patch, memo: Runtime, job: JobRef, refusal: Refuse) -> None:
    notify(memo, job, Notice("Warning", refusal.reason, refusal.message))
    patch.status.update(refused_status(refusal.reason, refusal.message, now=kube_api.timestamp()))


@kopf.on.resume(*JOBS)
@kopf.on.create(*JOBS)
@metrics.count_errors("run_job")
async def run_job(body: kopf.Body, meta: kopf.Meta, status: kopf.Status, patch: kopf.Patch,
                  memo: Runtime, logger: kopf.Logger, retry: int = 0, **_: Any) -> None:
    await memo.pods.synced()  # "is its pod there?" needs every pod listed
    await memo.jobs.complete()  # and "is its parent alive?" every job
    # The last Pod made (a distributed job's last member): an earlier run made them all.
    pod_owner = memo.pods.cache.owner_uid(meta["namespace"], pod_spec.pod_names(body)[-1])
    if decisions.run(meta, status, pod_owner) is Run.SKIP:
        return
    try:
        async with memo.starts:  # a bounded number at once: see OperatorConfig
            await start_job(body, meta, status, patch, memo, retry=retry)
    except ApiException as exc:
        if not namespace_terminating(exc):
            raise
        logger.info("namespace %s is being deleted; not starting the job", meta.get("namespace"))


async def start_job(body: kopf.Body, meta: kopf.Meta, status: kopf.Status, patch: kopf.Patch,
                    memo: Runtime, *, retry: int = 0) -> None:
    job = JobRef.of(meta)
    digest: str | None = None
    problem: str | None = None
    if decisions.is_root(meta.get("labels") or {}):
        digest = await ensure_family(memo.kube, memo.events, body)
        marks = decisions.family_marks(meta, status, digest)
        patch.metadata.labels.update(marks.labels)
        patch.status.update(marks.status)
    else:
        problem = await verify_child(memo.kube, body, memo.jobs)
    spec = job_spec(body["spec"])
    if (refusal := decisions.refusal_before_pod(problem, spec, memo.config.gpu_types,
                                                memo.config.max_pods_per_job)) is not None:
        refuse(patch, memo, job, refusal)
        return
    pods = pod_spec.build_pods(body, config=memo.config, family=digest)
    # Last, right before the create: a kill of the job or of any job above it that
    # reached the API server before this check gets no Pod made after it.
    checked = time.monotonic()
    found = await check_chain(memo.kube, memo.jobs, meta)
    if (withheld := decisions.withheld(job.name, found.dying)) is not None:
        metrics.PODS_WITHHELD.labels(found.by).inc()
        metrics.JOB_PHASES.set(job.uid, phases.KILLING)
        patch.status.update(withheld)
        return
    if pod_spec.job_members(spec):
        # Its Pods' names resolve through it: made first, and owned by the job.
        if (service := await ensure_service(memo, body)) is not None:
            refuse(patch, memo, job, service)
            return
    # Its interactive ports' Service, by name from the Pod's first moment (service_spec.py).
    await ensure_endpoints(body, patch, memo)
    # A distributed job's Pods all at once: its start is its slowest Pod's. Each create is
    # idempotent, so a retry after one was refused or failed makes only the missing ones.
    # All are done before an error (a quota's retry) goes to kopf, with this run's patch.
    made = await asyncio.gather(*(create_pod(body, status, patch, memo, pod, checked, retry=retry)
                                  for pod in pods), return_exceptions=True)
    if (error := next((m for m in made if isinstance(m, BaseException)), None)) is not None:
        raise error
    # status.podName is written with the pod's first mirrored status (mirror_pod), not
    # here: for a child job that is one status write and one watch event fewer.


async def ensure_service(memo: Runtime, body: kopf.Body) -> Refuse | None:
    """A distributed job's headless Service, made or found made by an earlier run."""
    service = pod_spec.build_service(body)
    meta = service["metadata"]
    if await memo.kube.create(core_path(meta["namespace"], "services"), service) is not None:
        return None
    existing = await memo.kube.get(core_path(meta["namespace"], "services", meta["name"]))
    if existing is not None and not resource.owned_by(existing, body["metadata"]["uid"]):
        return Refuse("ServiceNameTaken", f"a service named {meta['name']} exists and does not belong to this job")
    return None


async def create_pod(body: kopf.Body, status: kopf.Status, patch: kopf.Patch, memo: Runtime,
                     pod: dict[str, Any], checked: float, *, retry: int) -> bool:
    """Makes one Pod of the job (or finds it made by an earlier run); False when the job
    was refused instead, its status saying why."""
    job = JobRef.of(body["metadata"])
    name = pod["metadata"]["name"]
    made: dict[str, Any] | None = None
    try:
        made = await memo.kube.create(core_path(job.namespace, "pods"), pod)
    except ApiException as exc:
        if (refused := pod_refusal(exc.status, server_message(exc))) is None:
            raise
        metrics.PODS_REFUSED.labels(refused.reason).inc()
        answer = decisions.pod_refused(refused, status)
        if isinstance(answer, Refuse):
            refuse(patch, memo, job, answer)
            return False
        wait_for_quota(body, patch, memo, answer, retry)
    if made is not None:
        metrics.POD_CREATE_WINDOW.observe(time.monotonic() - checked)
        metrics.PODS_CREATED.inc()
        notify(memo, job, decisions.pod_created(name))
    else:
        existing = await memo.kube.get(core_path(job.namespace, "pods", name))
        if (taken := decisions.pod_name_taken(name, existing, job.uid)) is not None:
            refuse(patch, memo, job, taken)
            return False
    return True


async def ensure_endpoints(body: kopf.Body, patch: kopf.Patch, memo: Runtime) -> None:
    """A job with interactivePorts gets its Service (service_spec.py) before its Pod, so its
    name answers from the Pod's first moment; with node ports, their numbers in status."""
    service = service_spec.build_service(body, node_ports=memo.config.node_ports)
    if service is None:
        return
    meta = service["metadata"]
    made = await memo.kube.create(core_path(meta["namespace"], "services"), service)
    if made is None:  # an earlier run's (a retry), or a name taken: then the job has no endpoint by name
        made = await memo.kube.get(core_path(meta["namespace"], "services", meta["name"]))
    if memo.config.node_ports and made is not None and resource.owned_by(made, body["metadata"]["uid"]):
        patch.status["nodePorts"] = service_spec.node_ports_of(made)


def wait_for_quota(body: kopf.Body, patch: kopf.Patch, memo: Runtime, wait: WaitForRoom, retry: int) -> NoReturn:
    """The namespace has no room for the job's Pod yet (refusals.py): says so in the job's
    status (and an Event, once), then has kopf run run_job again after a backoff. kopf's
    own ERROR line and Event for every retry are filtered out (kopf_config.WAITING_MARK):
    the status and our Event tell it once, this log line at each try."""
    job, refusal = JobRef.of(body["metadata"]), wait.refusal
    if wait.write_status:
        resources = effective_resources(job_spec(body["spec"]), memo.config.resource_defaults)
        patch.status.update(waiting_status(refusal.reason, refusal.message, resources, now=kube_api.timestamp()))
    if wait.notice is not None:
        notify(memo, job, wait.notice)
    delay = retry_delay(retry, memo.config.quota_retry_max)
    log.info("job %s/%s has no pod yet (%s: %s); trying again in %.0f s", job.namespace, job.name,
             refusal.reason, refusal.message, delay)
    raise WaitingForRoom(f"{WAITING_MARK} {refusal.reason}", delay=delay)


@kopf.on.event(*JOBS)
async def on_job_event(type: str | None, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    """Every event of every job (one handler, not three: each costs kopf a handler run)."""
    meta = body["metadata"]
    parent = (meta.get("labels") or {}).get(resource.LABEL_PARENT)
    parent_view = memo.jobs.view(meta["namespace"], parent) if parent else None
    action = decisions.job_event(type, meta, body.get("status") or {},
                                 parent_deleting=parent_view is not None and parent_view.deleting)
    if action is JobEvent.FORGET:
        metrics.JOB_PHASES.forget(meta["uid"])
        memo.handled.forget(meta["uid"])
    elif action in (JobEvent.MARK_KILLING, JobEvent.COUNT_KILLING):
        metrics.JOB_PHASES.set(meta["uid"], phases.KILLING)
        if action is JobEvent.MARK_KILLING:
            await mark_killing(memo, body)


@metrics.count_errors("mark_killing")
@retry_transient("marking a job Killing")
async def mark_killing(memo: Runtime, body: kopf.Body) -> None:
    """The job a kill named shows Killing while garbage collection removes its subtree."""
    meta = body["metadata"]
    await memo.kube.patch_status(job_path(meta["namespace"], meta["name"]), killing_status())
    notify(memo, JobRef.of(meta), decisions.KILLING_NOTICE)


async def stop_pods(memo: Runtime, pods: tuple[PodState, ...]) -> None:
    """Deletes the Pods a finished distributed job no longer needs: SIGTERM, then the
    grace period, as for a kill. After its status says it has finished, so their ends
    change nothing."""
    for pod in pods:
        await memo.kube.delete(core_path(pod.namespace, "pods", pod.name), uid=pod.uid, propagation="Background")


@metrics.count_errors("mirror_pod")
@retry_transient("mirroring a pod into its job's status")
async def mirror_pod(memo: Runtime, change: Change) -> None:
    """Writes what a job's Pod says into the job's status."""
    pod, job = change.pod, change.pod.owner
    if job is None:
        return
    view = memo.jobs.view(job.namespace, job.name)
    siblings = memo.pods.cache.job_pods(job.namespace, job.name, job.uid) if pod.member is not None else None
    action = decisions.mirror(pod, change.deleted, view, now=kube_api.timestamp(), job_pods=siblings)
    if isinstance(action, PodLost):
        await memo.kube.patch_status(job_path(job.namespace, job.name), action.status)
        notify(memo, job, action.notice)
        await stop_pods(memo, action.stop)
    if isinstance(action, Stop):
        await stop_pods(memo, action.pods)
    if not isinstance(action, Mirror):
        return
    new = action.status
    written = await memo.kube.patch_status(job_path(job.namespace, job.name), new)
    if written is None:
        return
    await stop_pods(memo, action.stop)
    # A kill that began between the pod event and this patch: on_job_event sees the
    # job's next event (this patch's) and shows it Killing again.
    previous = metrics.JOB_PHASES.set(job.uid, new["phase"])
    if (notice := decisions.mirrored_notice(previous, new, pod.name)) is not None:
        notify(memo, job, notice)
    created = written["metadata"].get("creationTimestamp")
    if created and decisions.first_ip(previous, new):
        age = datetime.datetime.now(datetime.timezone.utc) - kube_api.parse_timestamp(created)
        metrics.TIME_TO_POD_IP.observe(age.total_seconds())
