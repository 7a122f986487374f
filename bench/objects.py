"""What the benchmark creates besides DLWSJobs: the job parameters it submits, and bare
Pods like the operator's, which the baselines time."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlws_contract.kube_api import owner_reference

JSON = dict[str, Any]
JOB_PARAMS = {"jobName": "bench", "resourcegpu": "0", "dataPath": "d", "image": "busybox",
              "jobType": "training", "cmd": "sleep 3600"}
# On the benchmark's Pods (and on the kopf floor's jobs): which path made them.
KIND_LABEL = "bench.dlworkspace.io/kind"
# On the Pods of a batch/v1 Job: its name (set by Kubernetes' Job controller).
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def bare_pod(name: str, labels: Mapping[str, str], owner: Mapping[str, Any] | None = None, *,
             image: str = JOB_PARAMS["image"], command: list[str] | None = None,
             port: int | None = None) -> JSON:
    """A plain Pod like the operator's (one container, the job's image and command,
    restartPolicy Never, no ServiceAccount token)."""
    meta: JSON = {"name": name, "labels": dict(labels)}
    if owner is not None:
        meta["ownerReferences"] = [dict(owner)]
    container: JSON = {"name": "job", "image": image, "command": command or ["/bin/sh", "-c", JOB_PARAMS["cmd"]]}
    if port is not None:
        container["ports"] = [{"containerPort": port, "protocol": "TCP"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False, "enableServiceLinks": False,
                     "containers": [container]}}


def batch_job(name: str, labels: Mapping[str, str]) -> JSON:
    """A batch/v1 Job of one Pod, the bare Pod's spec as its template: what a user would
    submit to Kubernetes' own Job controller instead of a DLWSJob."""
    pod = bare_pod(name, labels)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 0,
                     "template": {"metadata": {"labels": dict(labels)}, "spec": pod["spec"]}}}


def job_of_pod(pod: Mapping[str, Any]) -> str:
    """The batch Job a Pod belongs to (the label the Job controller puts on its Pods), else
    the Pod's own name: so one watch on Pods times bare Pods and Job Pods alike."""
    meta = pod["metadata"]
    return str((meta.get("labels") or {}).get(JOB_NAME_LABEL) or meta["name"])


def configmap_owner(configmap: Mapping[str, Any]) -> JSON:
    """An owner reference to a ConfigMap of a baseline's tree, as a job's to its parent."""
    return owner_reference(configmap, api_version="v1", kind="ConfigMap")
