"""A job's life, decided here; everything else carries it out or remembers it.

    created ─run_job──▶ family Secret (a root) or family check (a child)
            ─▶ every job above alive (ancestry.py) ─▶ Pod; else Killing, no Pod
    Pod Pending, Running, Succeeded, Failed ─mirror_pod─▶ the same in the job's status
    Pod deleted from under a live job ─mirror_pod─▶ Failed (PodDeleted)
    job deleted ─on_job_event─▶ Killing (the job killed, not each job below it: they show
                 their deletionTimestamp); the garbage collector removes its Pod and subtree

kopf calls run_job and on_job_event for DLWSJobs; the pod mirror (pod_mirror.py) calls
mirror_pod for each changed Pod. Level-based and idempotent: every name is deterministic
(the Pod, the family Secret), so a handler that runs twice or an operator restarted at
any moment finds what it made instead of making it again. No handler here adds a
finalizer: a kill never waits on us.
"""
import datetime
import logging
import time
from typing import Any, NoReturn

import kopf
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import kube_api, phases, resource
from dlws_contract.compute import effective_resources
from dlws_contract.kube_api import core_path, job_path, namespace_terminating, server_message
from dlws_contract.spec import unknown_gpu_type
from dlws_operator import metrics, pod_spec
from dlws_operator.kopf_config import WAITING_MARK, WaitingForRoom
from dlws_operator.refusals import Refusal, pod_refusal, retry_delay
from dlws_operator.ancestry import check_chain
from dlws_operator.event_poster import post_event
from dlws_operator.events import JobRef
from dlws_operator.family import ensure_family, owned_by, verify_child
from dlws_operator.pod_cache import Change, PodCache
from dlws_operator.retry import retry_transient
from dlws_operator.runtime import Runtime
from dlws_operator.status import (killing_status, pod_lost_status, refused_status, status_from_state,
                                  status_key, waiting_status, withheld_status)

JOBS = (resource.GROUP, resource.VERSION, resource.PLURAL)

log = logging.getLogger(__name__)


def is_root(labels: dict[str, str]) -> bool:
    return resource.LABEL_PARENT not in labels


def already_running(meta: kopf.Meta, status: kopf.Status, pods: PodCache) -> bool:
    """Whether an earlier run made everything (the operator restarted): the job's pod
    exists and, on a root, the family label is the one we wrote."""
    if pods.owner_uid(meta["namespace"], resource.pod_name(meta["name"])) != meta["uid"]:
        return False
    labels = meta.get("labels") or {}
    return not is_root(dict(labels)) or (
        bool(status.get("familyDigest")) and labels.get(resource.LABEL_FAMILY) == status.get("familyDigest"))


def refuse(patch: kopf.Patch, memo: Runtime, job: JobRef, reason: str, problem: str) -> None:
    post_event(memo.events, job, type="Warning", reason=reason, message=problem)
    patch.status.update(refused_status(reason, problem))


@kopf.on.resume(*JOBS)
@kopf.on.create(*JOBS)
@metrics.count_errors("run_job")
async def run_job(body: kopf.Body, meta: kopf.Meta, status: kopf.Status, patch: kopf.Patch,
                  memo: Runtime, logger: kopf.Logger, retry: int = 0, **_: Any) -> None:
    await memo.pods.synced()  # "is its pod there?" needs every pod listed
    await memo.jobs.complete()  # and "is its parent alive?" every job
    if meta.get("deletionTimestamp") or already_running(meta, status, memo.pods.cache):
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
    labels = dict(meta.get("labels") or {})
    digest: str | None = None
    if is_root(labels):
        digest = await ensure_family(memo.kube, memo.events, body)
        if labels.get(resource.LABEL_FAMILY) != digest or labels.get(resource.LABEL_ROOT) != meta["name"]:
            patch.metadata.labels[resource.LABEL_FAMILY] = digest
            patch.metadata.labels[resource.LABEL_ROOT] = meta["name"]
        if status.get("familyDigest") != digest:
            patch.status["familyDigest"] = digest
    elif (problem := await verify_child(memo.kube, body, memo.jobs)) is not None:
        refuse(patch, memo, job, "InvalidFamily", problem)
        return
    gpu_type = body["spec"].get("gpuType")
    if gpu_type and (problem := unknown_gpu_type(gpu_type, memo.config.gpu_types)) is not None:
        refuse(patch, memo, job, "UnknownGpuType", problem)
        return
    pod = pod_spec.build_pod(body, config=memo.config, family=digest)
    name = pod["metadata"]["name"]
    # Last, right before the create: a kill of the job or of any job above it that
    # reached the API server before this check gets no Pod made after it.
    checked = time.monotonic()
    found = await check_chain(memo.kube, memo.jobs, meta)
    if found.dying is not None:
        # No Event: as for a kill (mark_killing), one for the killed job is enough.
        metrics.PODS_WITHHELD.labels(found.by).inc()
        metrics.JOB_PHASES.set(job.uid, phases.KILLING)
        patch.status.update(withheld_status(job.name, found.dying))
        return
    try:
        made = await memo.kube.create(core_path(job.namespace, "pods"), pod)
    except ApiException as exc:
        if (refusal := pod_refusal(exc.status, server_message(exc))) is None:
            raise
        metrics.PODS_REFUSED.labels(refusal.reason).inc()
        if not refusal.waits:
            refuse(patch, memo, job, refusal.reason, refusal.message)
            return
        wait_for_quota(body, status, patch, memo, refusal, retry)
    if made is not None:
        metrics.POD_CREATE_WINDOW.observe(time.monotonic() - checked)
        metrics.PODS_CREATED.inc()
        post_event(memo.events, job, type="Normal", reason="PodCreated", message=f"created pod {name}")
    else:
        existing = await memo.kube.get(core_path(job.namespace, "pods", name))
        if existing is not None and not owned_by(existing, job.uid):
            refuse(patch, memo, job, "PodNameTaken", f"a pod named {name} exists and does not belong to this job")
            return
    # status.podName is written with the pod's first mirrored status (mirror_pod), not
    # here: for a child job that is one status write and one watch event fewer.


def wait_for_quota(body: kopf.Body, status: kopf.Status, patch: kopf.Patch, memo: Runtime,
                   refusal: Refusal, retry: int) -> NoReturn:
    """The namespace has no room for the job's Pod yet (refusals.py): says so in the job's
    status (and an Event, once), then has kopf run run_job again after a backoff. kopf's
    own ERROR line and Event for every retry are filtered out (kopf_config.WAITING_MARK):
    the status and our Event tell it once, this log line at each try."""
    job = JobRef.of(body["metadata"])
    if status.get("reason") != refusal.reason or status.get("message") != refusal.message:
        resources = effective_resources(body["spec"], memo.config.resource_defaults)
        patch.status.update(waiting_status(refusal.reason, refusal.message, resources, now=kube_api.timestamp()))
    if status.get("reason") != refusal.reason:
        post_event(memo.events, job, type="Warning", reason=refusal.reason, message=refusal.message)
    delay = retry_delay(retry, memo.config.quota_retry_max)
    log.info("job %s/%s has no pod yet (%s: %s); trying again in %.0f s", job.namespace, job.name,
             refusal.reason, refusal.message, delay)
    raise WaitingForRoom(f"{WAITING_MARK} {refusal.reason}", delay=delay)


@kopf.on.event(*JOBS)
async def on_job_event(type: str | None, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    """Every event of every job (one handler, not three: each costs kopf a handler run)."""
    meta = body["metadata"]
    if type == "DELETED":
        metrics.JOB_PHASES.forget(meta["uid"])
        memo.handled.forget(meta["uid"])
    elif meta.get("deletionTimestamp") and (body.get("status") or {}).get("phase") != phases.KILLING:
        metrics.JOB_PHASES.set(meta["uid"], phases.KILLING)
        if killed_itself(memo, meta):
            await mark_killing(memo, body)


def killed_itself(memo: Runtime, meta: kopf.Meta) -> bool:
    """The job a kill named, not one the garbage collector deletes because a job above it
    is being deleted: only that one gets a Killing status and an Event. A kill of 1,001
    jobs is then one write of ours, not 1,001 beside the collector's own; the jobs below
    show their deletionTimestamp (the Killed column, and "killing" in JobDetail)."""
    parent = (meta.get("labels") or {}).get(resource.LABEL_PARENT)
    parent_view = memo.jobs.view(meta["namespace"], parent) if parent else None
    return parent_view is None or not parent_view.deleting


@metrics.count_errors("mark_killing")
@retry_transient("marking a job Killing")
async def mark_killing(memo: Runtime, body: kopf.Body) -> None:
    """The job a kill named shows Killing while garbage collection removes its subtree."""
    meta = body["metadata"]
    await memo.kube.patch_status(job_path(meta["namespace"], meta["name"]), killing_status())
    post_event(memo.events, JobRef.of(meta), type="Normal", reason="Killing",
               message="deleting the job's pod and every job it submitted")


@metrics.count_errors("mirror_pod")
@retry_transient("mirroring a pod into its job's status")
async def mirror_pod(memo: Runtime, change: Change) -> None:
    """Writes what a job's Pod says into the job's status."""
    pod, job = change.pod, change.pod.owner
    if job is None:
        return
    view = memo.jobs.view(job.namespace, job.name)
    if view is not None and view.uid != job.uid:
        view = None  # a new job of the same name; this pod belonged to the old one
    if change.deleted:
        # Killed jobs lose their pods by garbage collection: nothing to say. A pod gone
        # from under a live, unfinished job means the job failed.
        if view is not None and not view.deleting and view.mirrored[0] not in phases.FINISHED_PHASES:
            await memo.kube.patch_status(job_path(job.namespace, job.name), pod_lost_status(pod.name))
            post_event(memo.events, job, type="Warning", reason="PodDeleted",
                       message="the job's pod was deleted; the job has failed")
        return
    if pod.deleting or (view is not None and view.deleting):
        # Being killed: mark_killing shows the job Killing and the garbage collector removes
        # the pod. A status write here would only make the collector's own patch of the
        # dying job conflict and retry.
        return
    new = status_from_state(pod, now=kube_api.timestamp())
    if view is not None and view.mirrored == status_key(new):
        return  # the status says this already (e.g. after an operator restart)
    written = await memo.kube.patch_status(job_path(job.namespace, job.name), new)
    if written is None:
        return
    # A kill that began between the pod event and this patch: on_job_event sees the
    # job's next event (this patch's) and shows it Killing again.
    previous = metrics.JOB_PHASES.set(job.uid, new["phase"])
    if previous != new["phase"] and new["phase"] != phases.PENDING:
        post_event(memo.events, job, type="Warning" if new["phase"] == phases.FAILED else "Normal",
                   reason=f"Job{new['phase']}", message=new.get("message") or f"pod {pod.name} is {new['phase'].lower()}")
    created = written["metadata"].get("creationTimestamp")
    if new.get("podIP") and previous in (None, phases.PENDING) and created:
        age = datetime.datetime.now(datetime.timezone.utc) - kube_api.parse_timestamp(created)
        metrics.TIME_TO_POD_IP.observe(age.total_seconds())
