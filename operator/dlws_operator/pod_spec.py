"""The Pod that runs a DLWSJob: a pure function of the job (its metadata, and its spec read
as a dlws_contract JobSpec), unit-tested without a cluster."""
from collections.abc import Mapping
from typing import Any

from dlws_contract import resource, spec as contract
from dlws_contract.compute import container_resources, effective_resources
from dlws_contract.spec import JobSpec, job_spec
from dlws_operator.config import OperatorConfig

DEFAULTS = OperatorConfig()

CONTAINER_NAME = "job"
# A job's cmd runs under /bin/sh as PID 1 of its container, and PID 1 ignores SIGTERM
# unless it traps it: every kill would wait out the grace period. This shell, PID 1 in
# place of the cmd's, passes SIGTERM on to every process of the job (kill -1: all but
# itself), waits until they are all gone (a process that handles SIGTERM gets the grace
# period to finish), and exits with the cmd's own status.
JOB_INIT = ("trap 'kill -TERM -1 2>/dev/null; killed=1' TERM INT HUP; "
            '/bin/sh -c "$1" & cmd=$!; '
            'while wait "$cmd"; status=$?; kill -0 "$cmd" 2>/dev/null; do :; done; '
            'if [ -n "$killed" ]; then '
            'while kill -0 -1 2>/dev/null; do sleep 0.1 2>/dev/null || sleep 1; done; fi; '
            'exit "$status"')
JOB_INIT_NAME = "dlws-job"  # the init shell's $0, as ps shows it


def job_command(cmd: str) -> list[str]:
    """The container command that runs a job's cmd (a shell command line) under JOB_INIT."""
    return ["/bin/sh", "-c", JOB_INIT, JOB_INIT_NAME, cmd]


def family_root(job: Mapping[str, Any]) -> str:
    """The root of the job's family: the job itself if it has no parent."""
    labels = job["metadata"].get("labels") or {}
    if resource.LABEL_PARENT not in labels:
        return str(job["metadata"]["name"])
    return str(labels.get(resource.LABEL_ROOT, ""))


def _env(job: Mapping[str, Any], spec: JobSpec, rest_api: str) -> list[dict[str, Any]]:
    name = job["metadata"]["name"]
    # Every name set here is reserved (contract.reserved_env_name; the DLWS_ ones by their
    # prefix), so the job's own env, added last, cannot override one.
    env: list[dict[str, Any]] = [
        # The token reaches the job only through the Secret, so `kubectl get pod -o yaml`
        # never shows it.
        {"name": contract.FAMILY_TOKEN_ENV, "valueFrom": {"secretKeyRef": {
            "name": resource.family_secret_name(family_root(job)),
            "key": resource.SECRET_TOKEN_KEY}}},
        {"name": "DLWS_REST_API", "value": rest_api},
        {"name": "DLWS_JOB_ID", "value": name},
        {"name": "DLWS_USER_NAME", "value": str(spec.get("userName", "default"))},
        {"name": "DLWS_UID", "value": str(spec.get("userId", 0))},
        {"name": contract.POD_NAME_ENV, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": contract.POD_IP_ENV, "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]
    for path, var in ((spec.get("dataPath"), "DLWS_DATA_PATH"), (spec.get("workPath"), "DLWS_WORK_PATH"),
                      (spec.get("jobPath"), "DLWS_JOB_PATH"), (spec.get("logDir"), "DLWS_LOG_DIR")):
        if path:
            env.append({"name": var, "value": str(path)})
    for key, value in sorted((spec.get("env") or {}).items()):
        env.append({"name": key, "value": str(value)})
    return env


def _security_context(spec: JobSpec) -> dict[str, Any]:
    if spec.get("runningasroot"):
        return {"runAsUser": 0}
    uid = int(spec.get("userId", 0))
    context: dict[str, Any] = {"allowPrivilegeEscalation": False}
    if uid > 0:
        context.update(runAsUser=uid, runAsNonRoot=True)
    # uid 0 without runningasroot (DLWS's default user) leaves the image's own user.
    return context


def priority_class(spec: JobSpec, config: OperatorConfig) -> str:
    """The PriorityClass of a job's Pod ("" for none): preemptible only if it allows it."""
    return config.preemptible_class if spec.get("preemptionAllowed") else config.priority_class


def build_pod(job: Mapping[str, Any], *, config: OperatorConfig = DEFAULTS,
              family: str | None = None) -> dict[str, Any]:
    """family: the family digest, when the job's labels do not carry it yet (a root's first
    run writes it in the same patch). The shim tells a calling job's family by it."""
    meta = job["metadata"]
    spec = job_spec(job["spec"])
    labels = meta.get("labels") or {}
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": spec["image"],
        "env": _env(job, spec, config.rest_api),
        "securityContext": _security_context(spec),
    }
    if cmd := spec.get("cmd"):
        container["command"] = job_command(cmd)
    ports = spec.get("interactivePorts") or []
    if ports:
        container["ports"] = [{"containerPort": int(p), "protocol": "TCP"} for p in ports]
    # Never BestEffort: every job has CPU and memory requests and limits, its own or the
    # cluster's defaults (compute.py); the status mirrored from the Pod shows which.
    container["resources"] = container_resources(effective_resources(spec, config.resource_defaults),
                                                 int(spec.get("resourcegpu", 0)))
    pod_labels = {resource.LABEL_JOB: meta["name"], resource.LABEL_ROOT: family_root(job)}
    if family := family or labels.get(resource.LABEL_FAMILY):
        pod_labels[resource.LABEL_FAMILY] = family
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [container],
        # A job talks to the /child API with its family token, not to Kubernetes.
        "automountServiceAccountToken": False,
        # Service links would add an env variable per Service in the namespace.
        "enableServiceLinks": False,
    }
    if gpu_type := spec.get("gpuType"):
        pod_spec["nodeSelector"] = {config.gpu_type_label: gpu_type}
    if priority := priority_class(spec, config):
        pod_spec["priorityClassName"] = priority
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": resource.pod_name(meta["name"]),
            "namespace": meta["namespace"],
            "labels": pod_labels,
            "annotations": {resource.GENERATION_ANNOTATION: str(meta.get("generation", 1))},
            "ownerReferences": [resource.owner_reference(job)],  # a kill of the job waits for its Pod
        },
        "spec": pod_spec,
    }
