"""The Pod that runs a DLWSJob: a pure function of the job (its metadata, and its spec read
as a dlws_contract JobSpec), unit-tested without a cluster."""
from collections.abc import Mapping
from typing import Any, Final

from dlws_contract import distributed, resource, spec as contract
from dlws_contract.compute import container_resources, effective_resources
from dlws_contract.distributed import Member
from dlws_contract.spec import JobSpec, job_spec
from dlws_contract.storage import StoragePaths, job_storage_paths
from dlws_operator.config import OperatorConfig

DEFAULTS = OperatorConfig()

CONTAINER_NAME = "job"
DEFAULT_CONTAINER_ANNOTATION: Final = "kubectl.kubernetes.io/default-container"
# A job's cmd runs under a shell, and PID 1 ignores SIGTERM unless it traps it: every
# kill would wait out the grace period. This shell, PID 1 in place of the cmd's, passes
# SIGTERM on to every process of the job (kill -1: all but itself), waits until they are
# all gone (a process that handles SIGTERM gets the grace period to finish), and exits
# with the cmd's own status. The cmd itself runs under bash when the image has it, as
# DLWS ran it, else /bin/sh.
# Everything the cmd prints is also appended to $2, the job's log on its storage
# (JOB_LOG, DLWS's <jobPath>/logs/joblog.txt), by a tee per stream through a FIFO: the
# container's own stdout and stderr stay as they were. The tees ignore SIGTERM, so what
# a dying job prints is kept; once the cmd has ended they get 2 s to drain (a daemon the
# cmd left holding its output must not keep the container alive). Where the log cannot
# be made (no writable directory, no mkfifo), the cmd runs as before, without a copy.
JOB_INIT = ("trap 'kill -TERM -1 2>/dev/null; killed=1' TERM INT HUP; "
            'shell=/bin/sh; command -v bash >/dev/null 2>&1 && shell=bash; '
            'copy=; out=/tmp/.dlws-out.$$; err=/tmp/.dlws-err.$$; '
            'if [ -n "$2" ] && mkdir -p "${2%/*}" 2>/dev/null && : >>"$2" 2>/dev/null '
            '&& mkfifo -m 600 "$out" "$err" 2>/dev/null; then '
            '(trap "" TERM INT HUP; exec tee -a "$2" <"$out") & copy=$!; '
            '(trap "" TERM INT HUP; exec tee -a "$2" <"$err" >&2) & copy="$copy $!"; '
            'exec 3>"$out" 4>"$err"; rm -f "$out" "$err"; '
            '"$shell" -c "$1" >&3 2>&4 3>&- 4>&- & cmd=$!; exec 3>&- 4>&-; '
            'else rm -f "$out" "$err" 2>/dev/null; "$shell" -c "$1" & cmd=$!; fi; '
            'while wait "$cmd"; status=$?; kill -0 "$cmd" 2>/dev/null; do :; done; '
            'if [ -n "$killed" ]; then '
            'while kill -0 -1 2>/dev/null; do sleep 0.1 2>/dev/null || sleep 1; done; fi; '
            'if [ -n "$copy" ]; then (sleep 2; kill -KILL $copy 2>/dev/null) & dog=$!; '
            'wait $copy; kill $dog 2>/dev/null; fi; '
            'exit "$status"')
JOB_LOG: Final = "/job/logs/joblog.txt"  # /job is the job's jobPath (storage_volumes)
JOB_INIT_NAME = "dlws-job"  # the init shell's $0, as ps shows it


# The job's directories (dlws_contract/storage.py) and its /dev/shm.
STORAGE_VOLUME: Final = "dlws-storage"
SHM_VOLUME: Final = "dlws-shm"
WORK_VOLUME: Final = "dlws-work"  # without storage: /work and /job, empty directories of the Pod
JOB_VOLUME: Final = "dlws-job"
HOSTFILE_VOLUME: Final = "dlws-hostfile"  # a distributed job's /job/hostfile
DATA_MOUNT, WORK_MOUNT, JOB_MOUNT, SHM_MOUNT = "/data", "/work", "/job", "/dev/shm"
LOGIN_ENV: Final = ("HOME", "USER", "LOGNAME")
# Before the job's container, an init container of the job's own image (the one image a
# node is sure to have; it has a shell, since its cmd runs under one) makes the job's
# directories in its user's tree, owned by the user, as DLWS's mkdirsAsUser did: the
# kubelet would make a subPath's missing directories owned by root, unwritable by a job
# running as its user. It runs as root, but sees only the user's own tree
# (<storage>/work/<userName>, a subPath: the kubelet refuses one that leaves the
# storage) and refuses any path through a symlink, so a symlink a job planted never has
# it create or chown anything elsewhere. It chowns only what it creates (and the user's
# tree when the kubelet has just made it: root's and empty).
DIRS_CONTAINER: Final = "dlws-dirs"
DIRS_MOUNT: Final = "/dlws-user"
DIRS_INIT: Final = (
    'owner=$1; shift; '
    # The user's tree itself the kubelet made (root's, empty) for the first job of the user.
    'if [ "$(stat -c %u ' + DIRS_MOUNT + ')" = 0 ] && [ -z "$(ls -A ' + DIRS_MOUNT + ')" ]; then '
    'chown "$owner" ' + DIRS_MOUNT + ' || exit 1; fi; '
    'for path in "$@"; do dir=' + DIRS_MOUNT + '; IFS=/; set -f; '
    'for part in $path; do dir=$dir/$part; '
    'if [ -L "$dir" ]; then echo "dlws: $path passes through a symbolic link ($dir): refused" >&2; exit 1; fi; '
    'if [ ! -d "$dir" ]; then '
    'if mkdir "$dir" 2>/dev/null; then chown "$owner" "$dir" || exit 1; fi; '
    'if [ -L "$dir" ] || [ ! -d "$dir" ]; then echo "dlws: cannot make $dir" >&2; exit 1; fi; fi; '
    'done; done')


def job_command(cmd: str, log: str = JOB_LOG) -> list[str]:
    """The container command that runs a job's cmd (a shell command line) under JOB_INIT,
    a copy of its output appended to `log` ("": none)."""
    return ["/bin/sh", "-c", JOB_INIT, JOB_INIT_NAME, cmd, log]


def family_root(job: Mapping[str, Any]) -> str:
    """The root of the job's family: the job itself if it has no parent."""
    labels = job["metadata"].get("labels") or {}
    if resource.LABEL_PARENT not in labels:
        return str(job["metadata"]["name"])
    return str(labels.get(resource.LABEL_ROOT, ""))


def _env(job: Mapping[str, Any], spec: JobSpec, rest_api: str, member: Member | None) -> list[dict[str, Any]]:
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
        # The group the job runs as (runAsGroup) and its directories are made with
        # (DIRS_INIT); one worker of as many GPUs as the job has.
        {"name": "DLWS_GID", "value": str(group_id(spec))},
        {"name": "DLWS_NUM_GPU_PER_WORKER", "value": str(spec.get("resourcegpu", 0))},
        {"name": contract.POD_NAME_ENV, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": contract.POD_IP_ENV, "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]
    if vc_name := spec.get("vcName"):
        env.append({"name": "DLWS_VC_NAME", "value": vc_name})
    if member is not None:
        # Its role, the job's shape and names; MASTER_ADDR, WORLD_SIZE, RANK are refused
        # in a distributed job's own env (the CRD, SubmitJob), so they are ours too.
        extra = distributed.member_env(member, int(spec.get("numps", 0)), int(spec.get("numpsworker", 0)),
                                       int(spec.get("resourcegpu", 0)))
        env = [e for e in env if e["name"] not in extra]
        env += [{"name": k, "value": v} for k, v in extra.items()]
    for path, var in ((spec.get("dataPath"), "DLWS_DATA_PATH"), (spec.get("workPath"), "DLWS_WORK_PATH"),
                      (spec.get("jobPath"), "DLWS_JOB_PATH"), (spec.get("logDir"), "DLWS_LOG_DIR")):
        if path:
            env.append({"name": var, "value": str(path)})
    # A writable home (/job, the job's own directory) and the user's names: defaults,
    # not reserved (LOGIN_ENV), which the job's own env, added after them, may override.
    user = str(spec.get("userName", "default"))
    env += [{"name": name, "value": value} for name, value in zip(LOGIN_ENV, (JOB_MOUNT, user, user))]
    for key, value in sorted((spec.get("env") or {}).items()):
        env.append({"name": key, "value": str(value)})
    return env


def group_id(spec: JobSpec) -> int:
    """The job's group: its own gid (a root's; children inherit it), else DLWS's default,
    the user's id."""
    gid = spec.get("gid")
    return int(gid) if gid is not None else int(spec.get("userId", 0))


def job_paths(job: Mapping[str, Any]) -> StoragePaths:
    """The job's resolved storage paths (dlws_contract.storage), its day its creation's;
    InvalidJob if one breaks DLWS's rules (decisions.refusal_before_pod asks first)."""
    return job_storage_paths(job["metadata"], job["spec"])


def _relative_to_user(path: str) -> str:
    """A resolved workPath or jobPath (<user>/...) relative to the user's tree ("." for the tree)."""
    return path.split("/", 1)[1] if "/" in path else "."


def storage_volumes(job: Mapping[str, Any], spec: JobSpec, config: OperatorConfig,
                    resources: Mapping[str, Any], member: Member | None = None,
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The Pod's volumes, the job container's mounts, and the init containers that make
    its directories: DLWS's /data, /work and /job of the cluster storage (subPaths of
    one volume), or without storage two empty directories; and a memory-backed /dev/shm.
    A member of a distributed job has its own /job, <jobPath>/<role><i>, as in DLWS."""
    shm_size = config.shm_size or str(resources["limits"]["memory"])
    volumes: list[dict[str, Any]] = [{"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": shm_size}}]
    mounts: list[dict[str, Any]] = [{"name": SHM_VOLUME, "mountPath": SHM_MOUNT}]
    if not config.has_storage:
        volumes += [{"name": WORK_VOLUME, "emptyDir": {}}, {"name": JOB_VOLUME, "emptyDir": {}}]
        mounts += [{"name": WORK_VOLUME, "mountPath": WORK_MOUNT}, {"name": JOB_VOLUME, "mountPath": JOB_MOUNT}]
        return volumes, mounts, []
    paths = job_paths(job)
    job_dir = paths.jobPath + (f"/{member.directory}" if member else "")
    user = str(spec.get("userName", "default"))
    if config.storage_claim:
        volumes.append({"name": STORAGE_VOLUME, "persistentVolumeClaim": {"claimName": config.storage_claim}})
    else:
        volumes.append({"name": STORAGE_VOLUME,
                        "hostPath": {"path": config.storage_host_path, "type": "DirectoryOrCreate"}})
    mounts += [{"name": STORAGE_VOLUME, "mountPath": DATA_MOUNT, "subPath": paths.data_subpath},
               {"name": STORAGE_VOLUME, "mountPath": WORK_MOUNT, "subPath": paths.work_subpath},
               {"name": STORAGE_VOLUME, "mountPath": JOB_MOUNT,
                "subPath": paths.job_subpath + (f"/{member.directory}" if member else "")}]
    # The user's, even for a runningasroot job: /work is the user's tree, shared with the
    # user's other jobs, and root can write a directory of any owner.
    owner = f"{int(spec.get('userId', 0))}:{group_id(spec)}"
    init = {
        "name": DIRS_CONTAINER,
        "image": spec["image"],
        "command": ["/bin/sh", "-c", DIRS_INIT, DIRS_CONTAINER, owner,
                    _relative_to_user(paths.workPath), _relative_to_user(job_dir)],
        "securityContext": {"runAsUser": 0, "runAsNonRoot": False, "allowPrivilegeEscalation": False},
        "volumeMounts": [{"name": STORAGE_VOLUME, "mountPath": DIRS_MOUNT, "subPath": f"work/{user}"}],
        # A refusal's reason (its last log lines) becomes the job's status message.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        # The job's CPU and memory: a Pod's own are the larger of an init container's and
        # its containers' sum, so this adds nothing, and a namespace's quota sees limits.
        "resources": {k: {n: v for n, v in r.items() if n in ("cpu", "memory")} for k, r in resources.items()},
    }
    return volumes, mounts, [init]


def _security_context(spec: JobSpec) -> dict[str, Any]:
    if spec.get("runningasroot"):
        return {"runAsUser": 0}
    uid = int(spec.get("userId", 0))
    context: dict[str, Any] = {"allowPrivilegeEscalation": False}
    if uid > 0:
        context.update(runAsUser=uid, runAsGroup=group_id(spec), runAsNonRoot=True)
    # uid 0 without runningasroot (DLWS's default user) leaves the image's own user.
    return context


def priority_class(spec: JobSpec, config: OperatorConfig) -> str:
    """The PriorityClass of a job's Pod ("" for none): preemptible only if it allows it."""
    return config.preemptible_class if spec.get("preemptionAllowed") else config.priority_class


def job_members(spec: JobSpec) -> list[Member]:
    """The members of a distributed job, [] for a one-Pod job."""
    if not distributed.is_distributed(spec.get("jobtrainingtype")):
        return []
    return distributed.members(int(spec.get("numps", 0)), int(spec.get("numpsworker", 0)))


def pod_names(job: Mapping[str, Any]) -> list[str]:
    """The names of every Pod of the job, in the order they are made."""
    name = str(job["metadata"]["name"])
    return [m.pod_name(name) for m in job_members(job_spec(job["spec"]))] or [resource.pod_name(name)]


def build_pods(job: Mapping[str, Any], *, config: OperatorConfig = DEFAULTS,
               family: str | None = None) -> list[dict[str, Any]]:
    """Every Pod of the job: one, or one per member of a distributed job."""
    members = job_members(job_spec(job["spec"]))
    return [build_pod(job, config=config, family=family, member=m) for m in members] or [
        build_pod(job, config=config, family=family)]


def build_service(job: Mapping[str, Any]) -> dict[str, Any]:
    """A distributed job's headless Service: each Pod's subdomain, so CoreDNS answers
    <host>.<service> with the Pod's address (before it is ready too: the Pods find each
    other while they start). Owned by the job: a kill removes it."""
    meta = job["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": distributed.service_name(meta["name"]),
            "namespace": meta["namespace"],
            "labels": {resource.LABEL_JOB: meta["name"]},
            "ownerReferences": [resource.owner_reference(job)],
        },
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                 "selector": {resource.LABEL_JOB: meta["name"]}},
    }


def _as_member(pod: dict[str, Any], job: Mapping[str, Any], spec: JobSpec, member: Member,
               config: OperatorConfig) -> None:
    """Makes the Pod the job's `member`: its name, its DLWS host name under the job's
    Service, the search path that resolves the job's names, and DLWS's /job/hostfile
    (from an annotation, through the downward API: no other object to make)."""
    job_name, namespace = str(job["metadata"]["name"]), str(job["metadata"]["namespace"])
    meta, pod_spec = pod["metadata"], pod["spec"]
    meta["name"] = member.pod_name(job_name)
    meta["labels"].update({distributed.LABEL_ROLE: member.role, distributed.LABEL_INDEX: str(member.index)})
    meta["annotations"][distributed.HOSTFILE_ANNOTATION] = distributed.hostfile(
        int(spec.get("numpsworker", 0)), int(spec.get("resourcegpu", 0)))
    meta["annotations"][distributed.SHAPE_ANNOTATION] = f"{spec.get('numps', 0)},{spec.get('numpsworker', 0)}"
    pod_spec["hostname"] = member.host
    pod_spec["subdomain"] = distributed.service_name(job_name)
    pod_spec["dnsConfig"] = {"searches": [distributed.search_domain(job_name, namespace, config.cluster_domain)]}
    pod_spec["volumes"].append({"name": HOSTFILE_VOLUME, "downwardAPI": {"items": [{
        "path": "hostfile",
        "fieldRef": {"fieldPath": f"metadata.annotations['{distributed.HOSTFILE_ANNOTATION}']"}}]}})
    pod_spec["containers"][0]["volumeMounts"].append(
        {"name": HOSTFILE_VOLUME, "mountPath": f"{JOB_MOUNT}/hostfile", "subPath": "hostfile", "readOnly": True})


def build_pod(job: Mapping[str, Any], *, config: OperatorConfig = DEFAULTS,
              family: str | None = None, member: Member | None = None) -> dict[str, Any]:
    """family: the family digest, when the job's labels do not carry it yet (a root's first
    run writes it in the same patch). The shim tells a calling job's family by it.
    member: which Pod of a distributed job (None: the one Pod of a job)."""
    meta = job["metadata"]
    spec = job_spec(job["spec"])
    labels = meta.get("labels") or {}
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": spec["image"],
        "env": _env(job, spec, config.rest_api, member),
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
    volumes, container["volumeMounts"], init_containers = storage_volumes(job, spec, config, container["resources"],
                                                                           member)
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
        "volumes": volumes,
    }
    annotations = {resource.GENERATION_ANNOTATION: str(meta.get("generation", 1))}
    if init_containers:
        pod_spec["initContainers"] = init_containers
        # `kubectl logs` and `kubectl exec` of the Pod mean the job's container, without a notice.
        annotations[DEFAULT_CONTAINER_ANNOTATION] = CONTAINER_NAME
    if gpu_type := spec.get("gpuType"):
        pod_spec["nodeSelector"] = {config.gpu_type_label: gpu_type}
    if priority := priority_class(spec, config):
        pod_spec["priorityClassName"] = priority
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": resource.pod_name(meta["name"]),
            "namespace": meta["namespace"],
            "labels": pod_labels,
            "annotations": annotations,
            "ownerReferences": [resource.owner_reference(job)],  # a kill of the job waits for its Pod
        },
        "spec": pod_spec,
    }
    if member is not None:
        _as_member(pod, job, spec, member, config)
    return pod
