"""Mirrors each job's Pod into the job's status. Pods are watched with a server-side label
selector (set in main.py), so the operator never streams the cluster's other pods."""
import datetime
from typing import Any

import kopf

from dlws_contract import phases, resource
from dlws_operator import metrics
from dlws_operator import status as job_status
from dlws_operator.handlers import now
from dlws_operator.indexes import JobView, lookup, status_key
from dlws_operator.kube import Kube
from dlws_operator.retry import retry_transient

PODS = ("", "v1", "pods")


def owning_job(pod: kopf.Body) -> kopf.Body | None:
    """The DLWSJob that controls this Pod, as an object reference kopf can post events to."""
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == resource.KIND and ref.get("controller"):
            return kopf.Body({"apiVersion": ref["apiVersion"], "kind": ref["kind"],
                              "metadata": {"name": ref["name"], "uid": ref["uid"],
                                           "namespace": pod["metadata"]["namespace"]}})
    return None


def _age_seconds(created: str | None) -> float | None:
    if not created:
        return None
    then = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return (datetime.datetime.now(datetime.timezone.utc) - then).total_seconds()


# kopf passes indexes as keyword arguments its handler protocols do not list.
@kopf.on.event(*PODS, labels={resource.LABEL_JOB: kopf.PRESENT})  # type: ignore[arg-type]
@metrics.count_errors("mirror_pod")
@retry_transient("mirroring a pod into its job's status")
async def mirror_pod(type: str | None, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger,
                     job_index: kopf.Index[Any, Any], **_: Any) -> None:
    job_ref = owning_job(body)
    if job_ref is None:
        return
    kube: Kube = memo["kube"]
    namespace, name = job_ref.metadata.namespace or "", job_ref.metadata.name or ""
    view: JobView | None = lookup(job_index, namespace, name)
    if view is not None and view.uid != job_ref.metadata.uid:
        view = None  # a new job of the same name; this pod belonged to the old one
    if type == "DELETED":
        # Killed jobs lose their pods by garbage collection: nothing to say. A pod gone
        # from under a live, unfinished job means the job failed.
        if view is not None and not view.deleting and view.mirrored[0] not in phases.FINISHED_PHASES:
            await kube.patch_job_status(namespace, name, job_status.pod_lost_status(body["metadata"]["name"]))
            kopf.warn(job_ref, reason="PodDeleted", message="the job's pod was deleted; the job has failed")
        return
    if body["metadata"].get("deletionTimestamp") or (view is not None and view.deleting):
        # Being killed: mark_killing shows the job Killing and the garbage collector removes
        # the pod. A status write here would only make the collector's own patch of the
        # dying job conflict and retry.
        return
    new = job_status.status_from_pod(body, now=now())
    if view is not None and view.mirrored == status_key(new):
        return  # the status says this already (e.g. a resync, or after an operator restart)
    job = await kube.patch_job_status(namespace, name, new)
    if job is None:
        return
    # A kill that began between the pod event and this patch: mark_killing sees the
    # job's next event (this patch's) and shows it Killing again.
    previous = metrics.JOB_PHASES.set(job_ref.metadata.uid, new["phase"])
    if previous != new["phase"] and new["phase"] != phases.PENDING:
        kopf.event(job_ref, type="Warning" if new["phase"] == phases.FAILED else "Normal",
                   reason=f"Job{new['phase']}",
                   message=new.get("message") or f"pod {body['metadata']['name']} is {new['phase'].lower()}")
    if new.get("podIP") and previous in (None, phases.PENDING):
        age = _age_seconds(job["metadata"].get("creationTimestamp"))
        if age is not None:
            metrics.TIME_TO_POD_IP.observe(age)
