"""kopf handlers: glue between Kubernetes events and the pure builders. Kept short.

Level-based and idempotent: every name is deterministic (the Pod, the family Secret), so
a handler that runs twice or an operator restarted at any moment finds what it made
instead of making it again. No handler here adds a finalizer: a kill never waits on us.
"""
import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import kopf
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import phases, resource, tokens
from dlws_operator import family, metrics, pod_spec
from dlws_operator.event_poster import EventPoster
from dlws_operator.events import JobRef, job_event
from dlws_operator.indexes import JobView, lookup
from dlws_operator import status as job_status
from dlws_operator.kube import Kube, namespace_terminating
from dlws_operator.pod_cache import PodCache
from dlws_operator.retry import retry_transient
from dlws_operator.settings import OperatorSettings

if TYPE_CHECKING:
    from dlws_operator.pod_events import PodMirror  # which imports this module

JOBS = (resource.GROUP, resource.VERSION, resource.PLURAL)


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def post_event(memo: kopf.Memo, meta: Mapping[str, Any], *, type: str, reason: str, message: str) -> None:
    """Every Event of ours goes out through the event poster, under one reporting
    component; kopf posts only its own warnings about failing handlers."""
    events: EventPoster = memo["events"]
    events.post(job_event(JobRef(meta["namespace"], meta["name"], meta["uid"]), type=type, reason=reason,
                          message=message, now=now()))


def is_root(labels: dict[str, str]) -> bool:
    return resource.LABEL_PARENT not in labels


async def ensure_family(memo: kopf.Memo, root: kopf.Body) -> str:
    """Returns the digest of the root's family token, making token and Secret once."""
    kube: Kube = memo["kube"]
    meta = root["metadata"]
    name = resource.family_secret_name(meta["name"])
    for _ in range(2):
        secret = await kube.get_secret(meta["namespace"], name)
        if secret is not None:
            if not family.owned_by(secret, meta["uid"]):
                raise kopf.TemporaryError(
                    f"Secret {name} exists but is not owned by this job (a deleted job of the same "
                    "name whose Secret awaits garbage collection, or a name clash); retrying", delay=10)
            return family.digest_of(secret)
        if await kube.create_secret(family.build_family_secret(root, tokens.new_token())):
            post_event(memo, meta, type="Normal", reason="FamilyCreated",
                       message=f"family token stored in Secret {name}")
            metrics.FAMILIES_CREATED.inc()
        # Created (or lost a race): read back what is stored, the only token that counts.
    raise kopf.TemporaryError(f"Secret {name} vanished right after it was made; retrying", delay=5)


async def verify_child(kube: Kube, job: kopf.Body, job_index: kopf.Index[Any, Any]) -> str | None:
    """Why a child may not run, or None. A child must name its parent as an owner and
    carry the digest of its root's token: a hand-made DLWSJob cannot join a family."""
    meta = job["metadata"]
    labels = meta.get("labels") or {}
    parent, root = labels.get(resource.LABEL_PARENT), labels.get(resource.LABEL_ROOT)
    owners = [o for o in meta.get("ownerReferences") or [] if o.get("kind") == resource.KIND]
    if not root or not any(o.get("name") == parent for o in owners):
        return f"a child job needs the {resource.LABEL_ROOT} label and an ownerReference to its parent {parent!r}"
    claimed = labels.get(resource.LABEL_FAMILY, "")
    # The root's status.familyDigest was written by us from its Secret (users cannot write
    # status), so it stands in for reading the Secret once per child.
    root_view: JobView | None = lookup(job_index, meta["namespace"], root)
    if root_view is not None and root_view.family_digest:
        matches = tokens.same_digest(root_view.family_digest, claimed)
    else:
        secret = await kube.get_secret(meta["namespace"], resource.family_secret_name(root))
        if secret is None:
            return f"the family of root job {root!r} does not exist in namespace {meta['namespace']!r}"
        matches = tokens.matches(family.token_of(secret), claimed)
    if not matches:
        return f"the {resource.LABEL_FAMILY} label does not match the family of root job {root!r}"
    return None


def already_running(meta: kopf.Meta, status: kopf.Status, pods: PodCache) -> bool:
    """Whether an earlier run made everything (the operator restarted): the job's pod
    exists and, on a root, the family label is the one we wrote."""
    if pods.owner_uid(meta["namespace"], resource.pod_name(meta["name"])) != meta["uid"]:
        return False
    labels = meta.get("labels") or {}
    return not is_root(dict(labels)) or (
        bool(status.get("familyDigest")) and labels.get(resource.LABEL_FAMILY) == status.get("familyDigest"))


# kopf passes indexes as keyword arguments its handler protocols do not list.
@kopf.on.resume(*JOBS)
@kopf.on.create(*JOBS)  # type: ignore[arg-type]
@metrics.count_errors("run_job")
async def run_job(body: kopf.Body, meta: kopf.Meta, status: kopf.Status, patch: kopf.Patch,
                  memo: kopf.Memo, logger: kopf.Logger, job_index: kopf.Index[Any, Any], **_: Any) -> None:
    mirror: PodMirror = memo["pods"]
    await mirror.synced()  # "is its pod there?" needs every pod listed
    if meta.get("deletionTimestamp") or already_running(meta, status, mirror.cache):
        return
    try:
        async with memo["starts"]:  # a bounded number at once: see OperatorSettings
            await start_job(body, meta, status, patch, memo, job_index)
    except ApiException as exc:
        if not namespace_terminating(exc):
            raise
        logger.info("namespace %s is being deleted; not starting the job", meta.get("namespace"))


async def start_job(body: kopf.Body, meta: kopf.Meta, status: kopf.Status, patch: kopf.Patch,
                    memo: kopf.Memo, job_index: kopf.Index[Any, Any]) -> None:
    kube: Kube = memo["kube"]
    settings: OperatorSettings = memo["settings"]
    labels = dict(meta.get("labels") or {})
    if is_root(labels):
        digest = await ensure_family(memo, body)
        if labels.get(resource.LABEL_FAMILY) != digest or labels.get(resource.LABEL_ROOT) != meta["name"]:
            patch.metadata.labels[resource.LABEL_FAMILY] = digest
            patch.metadata.labels[resource.LABEL_ROOT] = meta["name"]
        if status.get("familyDigest") != digest:
            patch.status["familyDigest"] = digest
    elif (problem := await verify_child(kube, body, job_index)) is not None:
        post_event(memo, meta, type="Warning", reason="InvalidFamily", message=problem)
        for key, value in job_status.refused_status("InvalidFamily", problem).items():
            patch.status[key] = value
        return
    pod = pod_spec.build_pod(body, rest_api=settings.rest_api)
    if await kube.create_pod(pod):
        metrics.PODS_CREATED.inc()
        post_event(memo, meta, type="Normal", reason="PodCreated", message=f"created pod {pod['metadata']['name']}")
    else:
        existing = await kube.get_pod(meta["namespace"], pod["metadata"]["name"])
        if existing is not None and not family.owned_by(existing, meta["uid"]):
            problem = f"a pod named {pod['metadata']['name']} exists and does not belong to this job"
            post_event(memo, meta, type="Warning", reason="PodNameTaken", message=problem)
            for key, value in job_status.refused_status("PodNameTaken", problem).items():
                patch.status[key] = value
            return
    # status.podName is written with the pod's first mirrored status (pod_events), not
    # here: for a child job that is one status write and one watch event fewer.


@kopf.on.event(*JOBS)  # type: ignore[arg-type]  # (index keyword arguments)
@metrics.count_errors("mark_killing")
@retry_transient("marking a job Killing")
async def mark_killing(type: str | None, body: kopf.Body, memo: kopf.Memo,
                       job_index: kopf.Index[Any, Any], **_: Any) -> None:
    """A job being deleted shows Killing while garbage collection removes its subtree."""
    # Runs for every job event, so the first run tells the pod mirror that kopf's job
    # index is complete (kopf holds every handler until it is).
    memo["pods"].jobs_indexed.set()
    meta = body["metadata"]
    if type == "DELETED":
        metrics.JOB_PHASES.forget(meta["uid"])
        memo["handled"].forget(meta["uid"])
        return
    if not meta.get("deletionTimestamp"):
        return
    if (body.get("status") or {}).get("phase") == phases.KILLING:
        return
    kube: Kube = memo["kube"]
    await kube.patch_job_status(meta["namespace"], meta["name"], job_status.killing_status())
    metrics.JOB_PHASES.set(meta["uid"], phases.KILLING)
    parent = (meta.get("labels") or {}).get(resource.LABEL_PARENT)
    parent_view: JobView | None = lookup(job_index, meta["namespace"], parent) if parent else None
    if parent_view is None or not parent_view.deleting:
        # One Event for the job that was killed, not one per job of its subtree.
        post_event(memo, meta, type="Normal", reason="Killing",
                   message="deleting the job's pod and every job it submitted")
