"""The operator's configuration, from the environment (the Deployment sets it) with safe
defaults. OperatorConfig, not kopf.OperatorSettings, which is what kopf calls its own."""
import os
import re
from dataclasses import dataclass, field
from typing import TypeVar

from dlws_contract import distributed, resource
from dlws_contract.compute import ResourceDefaults
from dlws_contract.quantity import InvalidQuantity, parse_quantity
from dlws_contract.spec import gpu_type_list

DEFAULT_REST_API = "http://dlws-api.dlws-system.svc:5000/"
# DLWS labelled its GPU nodes gpuType=<type>; NVIDIA's GPU feature discovery labels them
# nvidia.com/gpu.product=<product>, which a cluster using it names instead.
DEFAULT_GPU_TYPE_LABEL = "gpuType"
# The PriorityClasses manifests/priority ships.
DEFAULT_PREEMPTIBLE_CLASS = "dlws-preemptible"
DEFAULT_PRIORITY_CLASS = "dlws-non-preemptible"
_LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
_CLASS_NAME = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$"  # "" sets no class
_CLAIM_NAME = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$"  # a PersistentVolumeClaim's name; "" none
_DOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


@dataclass(frozen=True)
class OperatorConfig:
    # Injected into every job as DLWS_REST_API. The seed document's samples build URLs
    # both as REST_API + "/child/..." and as REST_API + "KillJob", so it ends with "/".
    rest_api: str = DEFAULT_REST_API
    # Kubernetes API request timeout, seconds: a hung call must not stall a handler forever.
    request_timeout: float = 30.0
    # How many jobs may be started (family Secret, Pod) at once; the others wait their
    # turn. Unbounded, a burst of new jobs puts hundreds of API calls and their
    # connections in flight together: more memory, no faster (docs/benchmarks.md).
    concurrent_starts: int = 32
    # asyncio's TLS read buffer per connection, bytes (tls_buffers.py); 0: asyncio's own.
    tls_read_buffer: int = 64 * 1024
    # CPU and memory of a job that names none (compute.py): DLWS's defaults unless set.
    resource_defaults: ResourceDefaults = field(default_factory=ResourceDefaults)
    # The node label a job's gpuType selects on, and the types a job may name (empty: any).
    gpu_type_label: str = DEFAULT_GPU_TYPE_LABEL
    gpu_types: frozenset[str] = frozenset()
    # PriorityClasses of jobs with and without preemptionAllowed ("" sets none).
    preemptible_class: str = DEFAULT_PREEMPTIBLE_CLASS
    priority_class: str = DEFAULT_PRIORITY_CLASS
    # A Pod refused for exceeded quota is tried again after 2, 4, 8 ... seconds, at most
    # this many apart, until the quota lets it in (lifecycle.wait_for_quota).
    quota_retry_max: float = 30.0
    # The cluster's job storage (DLWS's storage-mount-path), where every job's /data,
    # /work and /job live (dlws_contract/storage.py): an existing PersistentVolumeClaim
    # in the jobs' namespace (ReadWriteMany, e.g. NFS), or a directory of the node for
    # a single-node cluster. At most one; neither: /work and /job are empty directories
    # of the Pod, nothing shared, no /data.
    storage_claim: str = ""
    storage_host_path: str = ""
    # /dev/shm of every job: a memory-backed emptyDir of this size ("": the job's memory
    # limit). Its use counts against the job's memory.
    shm_size: str = ""
    # A distributed job (PSDistJob) may have at most this many Pods; set the shim's
    # --max-pods-per-job alike. Its Pods look each other up under the cluster's DNS domain.
    max_pods_per_job: int = distributed.MAX_PODS_DEFAULT
    cluster_domain: str = resource.CLUSTER_DOMAIN_DEFAULT
    # Seconds after a job has ended (finished, failed) before it is deleted, with its Pod,
    # its family Secret and kill records once its whole family is gone (cleanup.py); a
    # DLWSJob's own spec.ttlSecondsAfterFinished overrides it. None: kept until deleted.
    ttl_seconds_after_finished: int | None = None
    # A job's interactivePorts get a NodePort Service (a port on every node, beyond the
    # cluster) instead of a headless one (dlws_contract/endpoints.py). Off by default.
    node_ports: bool = False

    @property
    def has_storage(self) -> bool:
        return bool(self.storage_claim or self.storage_host_path)

    @classmethod
    def from_env(cls) -> "OperatorConfig":
        rest_api = os.environ.get("DLWS_REST_API", DEFAULT_REST_API)
        if not rest_api.endswith("/"):
            rest_api += "/"
        return cls(
            rest_api=rest_api,
            request_timeout=number("DLWS_OPERATOR_REQUEST_TIMEOUT", 30.0, "a number of seconds above 0"),
            concurrent_starts=number("DLWS_OPERATOR_CONCURRENT_STARTS", 32, "a whole number of at least 1"),
            tls_read_buffer=number("DLWS_OPERATOR_TLS_READ_BUFFER", 64 * 1024, "a whole number of bytes, or 0",
                                   zero=True),
            resource_defaults=resource_defaults(),
            gpu_type_label=matching("DLWS_OPERATOR_GPU_TYPE_LABEL", DEFAULT_GPU_TYPE_LABEL, _LABEL_KEY,
                                    "a node label key, e.g. nvidia.com/gpu.product"),
            gpu_types=gpu_types(),
            preemptible_class=matching("DLWS_OPERATOR_PREEMPTIBLE_CLASS", DEFAULT_PREEMPTIBLE_CLASS, _CLASS_NAME,
                                       "a PriorityClass name, or empty"),
            priority_class=matching("DLWS_OPERATOR_PRIORITY_CLASS", DEFAULT_PRIORITY_CLASS, _CLASS_NAME,
                                    "a PriorityClass name, or empty"),
            quota_retry_max=number("DLWS_OPERATOR_QUOTA_RETRY_MAX", 30.0, "a number of seconds above 0"),
            **storage(),
            shm_size=shm_size(),
            max_pods_per_job=number("DLWS_OPERATOR_MAX_PODS_PER_JOB", distributed.MAX_PODS_DEFAULT,
                                    "a whole number of at least 1"),
            cluster_domain=matching("DLWS_OPERATOR_CLUSTER_DOMAIN", resource.CLUSTER_DOMAIN_DEFAULT, _DOMAIN,
                                    "a DNS domain, e.g. cluster.local"),
            ttl_seconds_after_finished=ttl(),
            node_ports=flag("DLWS_OPERATOR_NODE_PORTS"),
        )


def storage() -> dict[str, str]:
    """DLWS_OPERATOR_STORAGE_CLAIM (a PersistentVolumeClaim's name) or
    DLWS_OPERATOR_STORAGE_HOST_PATH (an absolute directory of the node), not both."""
    claim = matching("DLWS_OPERATOR_STORAGE_CLAIM", "", _CLAIM_NAME, "a PersistentVolumeClaim name, or empty")
    host_path = os.environ.get("DLWS_OPERATOR_STORAGE_HOST_PATH", "").strip()
    if host_path and (not host_path.startswith("/") or ".." in host_path.split("/") or "\x00" in host_path):
        raise ValueError(f"DLWS_OPERATOR_STORAGE_HOST_PATH must be an absolute path without '..', not {host_path!r}")
    if claim and host_path:
        raise ValueError("set DLWS_OPERATOR_STORAGE_CLAIM or DLWS_OPERATOR_STORAGE_HOST_PATH, not both")
    return {"storage_claim": claim, "storage_host_path": host_path.rstrip("/") or host_path}


def flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be true or false, not {raw!r}")


def ttl() -> int | None:
    raw = os.environ.get("DLWS_OPERATOR_TTL_SECONDS_AFTER_FINISHED", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 2**31 - 1:
        raise ValueError("DLWS_OPERATOR_TTL_SECONDS_AFTER_FINISHED must be a whole number of seconds (0 or more), "
                         f"or empty to keep ended jobs, not {raw!r}")
    return int(raw)


def shm_size() -> str:
    raw = os.environ.get("DLWS_OPERATOR_SHM_SIZE", "").strip()
    if not raw:
        return ""
    try:
        if parse_quantity(raw) <= 0:
            raise InvalidQuantity(raw)
    except InvalidQuantity:
        raise ValueError(f"DLWS_OPERATOR_SHM_SIZE must be a memory quantity above 0 (e.g. 1Gi), or empty, "
                         f"not {raw!r}") from None
    return raw


def resource_defaults() -> ResourceDefaults:
    names = ("cpurequest", "cpulimit", "memoryrequest", "memorylimit")
    given = {name: os.environ[f"DLWS_OPERATOR_DEFAULT_{name.upper()}"] for name in names
             if os.environ.get(f"DLWS_OPERATOR_DEFAULT_{name.upper()}")}
    try:
        return ResourceDefaults(**given)
    except ValueError as exc:
        raise ValueError(f"DLWS_OPERATOR_DEFAULT_*: {exc}") from None


def gpu_types() -> frozenset[str]:
    try:
        return gpu_type_list(os.environ.get("DLWS_OPERATOR_GPU_TYPES", ""))
    except ValueError as exc:
        raise ValueError(f"DLWS_OPERATOR_GPU_TYPES: {exc}") from None


def matching(name: str, default: str, pattern: str, what: str) -> str:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if len(raw) > 253 or not re.fullmatch(pattern, raw.strip()):
        raise ValueError(f"{name} must be {what}, not {raw!r}")
    return raw.strip()


N = TypeVar("N", int, float)


def number(name: str, default: N, what: str, *, zero: bool = False) -> N:
    """The environment variable `name` as a number of the default's type, above 0 (or 0
    if `zero`) and finite; a clear error naming the variable otherwise."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        value = type(default)(-1)
    if not ((0 <= value) if zero else (0 < value)) or not value < float("inf"):  # also refuses nan
        raise ValueError(f"{name} must be {what}, not {raw!r}")
    return value
