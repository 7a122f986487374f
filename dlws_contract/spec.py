"""The DLWSJob spec, in DLWorkspace's own parameter names, and how /child parameters map to it.

The CRD (crds/dlwsjob.yaml) enforces the same bounds on the API server; a unit test keeps
the two in step. Parsing here exists to give a job the DLWS-style error message before
anything reaches Kubernetes.
"""
import json
import re
from collections.abc import Collection, Mapping
from fractions import Fraction
from typing import Any, Final, NotRequired, TypedDict, cast

from dlws_contract import distributed
from dlws_contract.quantity import InvalidQuantity, parse_quantity

REGULAR_JOB: Final = "RegularJob"
SUPPORTED_TRAINING_TYPES: Final = (REGULAR_JOB, distributed.PS_DIST)

MAX_JOB_NAME: Final = 256
MAX_IMAGE: Final = 512
MAX_CMD: Final = 16384
MAX_PATH: Final = 1024
MAX_JOB_TYPE: Final = 64
# The job's directories of the cluster storage (storage.py): DLWS's path rules apply.
STORAGE_PATH_FIELDS: Final = ("dataPath", "workPath", "jobPath")
MAX_GPUS: Final = 64
MAX_USER_ID: Final = 2147483647
MAX_PORTS: Final = 16
MAX_ENV: Final = 64
MAX_ENV_VALUE: Final = 4096
ENV_NAME_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]*$"
# The operator sets these variables in every job (pod_spec.py) and a job's env may not:
# these three names, and every name that begins with the prefix (DLWS_REST_API,
# DLWS_JOB_ID, ...). The CRD's env rule and the OpenAPI document say the same
# (tests/unit/test_reserved_env.py).
FAMILY_TOKEN_ENV: Final = "FAMILY_TOKEN"
POD_NAME_ENV: Final = "POD_NAME"
POD_IP_ENV: Final = "POD_IP"
RESERVED_ENV_NAMES: Final = (FAMILY_TOKEN_ENV, POD_NAME_ENV, POD_IP_ENV)
RESERVED_ENV_PREFIX: Final = "DLWS_"
RESERVED_ENV_TEXT: Final = f"{', '.join(RESERVED_ENV_NAMES)} and {RESERVED_ENV_PREFIX}*"
# CPU (cores) and memory (bytes) of a job, as DLWS named them, in request/limit pairs.
CPU_FIELDS: Final = ("cpurequest", "cpulimit")
MEMORY_FIELDS: Final = ("memoryrequest", "memorylimit")
RESOURCE_FIELDS: Final = CPU_FIELDS + MEMORY_FIELDS
MAX_CPU: Final = "4096"  # cores: above any node's, and far below what a quantity can hold
MAX_MEMORY: Final = "1Pi"
# gpuType becomes a node selector's value, so it must be a label value.
MAX_GPU_TYPE: Final = 63
GPU_TYPE_PATTERN: Final = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
# DLWS's virtual cluster of a job, passed as DLWS_VC_NAME; a name like a label value, so
# a cluster may select or count by it later.
MAX_VC_NAME: Final = 63
VC_NAME_PATTERN: Final = GPU_TYPE_PATTERN


class JobSpec(TypedDict):
    jobName: str
    image: str
    jobType: str
    cmd: NotRequired[str]
    resourcegpu: NotRequired[int]
    dataPath: NotRequired[str]
    workPath: NotRequired[str]
    jobPath: NotRequired[str]
    logDir: NotRequired[str]
    interactivePorts: NotRequired[list[int]]
    jobtrainingtype: NotRequired[str]
    runningasroot: NotRequired[bool]
    env: NotRequired[dict[str, str]]
    userName: NotRequired[str]
    userId: NotRequired[int]
    gid: NotRequired[int]
    vcName: NotRequired[str]
    cpurequest: NotRequired[str]
    cpulimit: NotRequired[str]
    memoryrequest: NotRequired[str]
    memorylimit: NotRequired[str]
    gpuType: NotRequired[str]
    preemptionAllowed: NotRequired[bool]
    numps: NotRequired[int]        # PSDistJob only: its parameter servers
    numpsworker: NotRequired[int]  # and its workers (dlws_contract/distributed.py)


def job_spec(raw: Mapping[str, Any]) -> JobSpec:
    """A DLWSJob's spec as the API server holds it, typed: the fields JobSpec names. The
    CRD has checked their types and the required ones (tests/unit/test_spec.py holds it
    to JobSpec), so this reads and does not check."""
    return cast(JobSpec, {name: raw[name] for name in JobSpec.__annotations__ if name in raw})


class InvalidJob(ValueError):
    """A job request that cannot become a DLWSJob; the message is shown to the caller."""


# Parameters of DLWS's SubmitJob that a child may send.
_STRING_FIELDS: Final = {
    "jobName": MAX_JOB_NAME, "image": MAX_IMAGE, "cmd": MAX_CMD, "dataPath": MAX_PATH,
    "workPath": MAX_PATH, "jobPath": MAX_PATH, "logDir": MAX_PATH, "jobType": MAX_JOB_TYPE,
}
# DLWS's own messages for its required parameters, kept for compatibility.
_REQUIRED: Final = {
    "jobName": "job name cannot be empty",
    "resourcegpu": "Number of GPU cannot be empty",
    "dataPath": "datapath cannot be empty",
    "image": "docker image cannot be empty",
    "jobType": "jobType cannot be empty",
}
# Accepted for compatibility with DLWS clients, and deliberately not used: a child's user
# is its submitter's, and the family is the caller's.
IGNORED_PARAMETERS: Final = frozenset({
    "familyToken", "userName", "userId", "isParent", "containerUserId",
})
_DISTRIBUTED_COUNTS: Final = ("numps", "numpsworker", "nummpiworker")
SUBMIT_PARAMETERS: Final = frozenset(
    set(_STRING_FIELDS) | {"resourcegpu", "interactivePort", "jobtrainingtype", "runningasroot",
                           "env", "parentJobId", "gpuType", "preemptionAllowed", "vcName"}
    | set(RESOURCE_FIELDS) | set(_DISTRIBUTED_COUNTS) | IGNORED_PARAMETERS
)

_TRUE: Final = {"1", "true", "yes"}
_FALSE: Final = {"0", "false", "no", ""}


def _int(name: str, raw: object, low: int, high: int) -> int:
    if isinstance(raw, bool):
        raise InvalidJob(f"{name} must be a whole number, not {raw!r}")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d{1,12}\s*", raw):
        value = int(raw)
    else:
        raise InvalidJob(f"{name} must be a whole number, not {str(raw)[:40]!r}")
    if not low <= value <= high:
        raise InvalidJob(f"{name} must be between {low} and {high}, not {value}")
    return value


def _bool(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        raw = str(raw)
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise InvalidJob(f"{name} must be 0 or 1, not {str(raw)[:40]!r}")


def _ports(raw: object) -> list[int]:
    if isinstance(raw, list):
        items: list[object] = list(raw)
    elif isinstance(raw, (str, int)) and not isinstance(raw, bool):
        # DLWS split interactivePort on "," or ";".
        items = [p for p in re.split(r"[,;]", str(raw)) if p.strip()]
    else:
        raise InvalidJob("interactivePort must be a port number or a list of them separated by , or ;")
    if len(items) > MAX_PORTS:
        raise InvalidJob(f"at most {MAX_PORTS} interactive ports are allowed, not {len(items)}")
    ports = [_int("interactivePort", p.strip() if isinstance(p, str) else p, 1, 65535) for p in items]
    if len(set(ports)) != len(ports):
        raise InvalidJob("interactivePort lists a port twice")
    return ports


def path_problem(name: str, value: str) -> str | None:
    """Why `value` cannot be the job's `name` (dataPath, workPath, jobPath), or None:
    DLWS's rules, each with its own message, so a path never leaves its tree. The one
    rule: SubmitJob applies it here, the operator through storage.storage_paths, and the
    CRD's validation of the three fields says the same (tests/unit/test_storage.py)."""
    if "\x00" in value:
        return f"{name} must not contain NUL characters"
    if ".." in value:
        return f"{name} must not contain '..'"
    if "\\." in value:
        return f"{name} must not contain '\\.'"
    if value.startswith(("/", "\\")):
        return f"{name} must be relative: it must not start with '/' or '\\'"
    return None


def reserved_env_name(name: str) -> bool:
    """Whether the system sets this variable in a job, so the job may not."""
    return name in RESERVED_ENV_NAMES or name.startswith(RESERVED_ENV_PREFIX)


def parse_env(raw: object) -> dict[str, str]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            raise InvalidJob('env must be a JSON object of strings, e.g. {"NAME": "value"}') from None
    if not isinstance(raw, dict):
        raise InvalidJob('env must be a JSON object of strings, e.g. {"NAME": "value"}')
    if len(raw) > MAX_ENV:
        raise InvalidJob(f"env may hold at most {MAX_ENV} variables, not {len(raw)}")
    env: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not re.fullmatch(ENV_NAME_PATTERN, name):
            raise InvalidJob(f"env name {str(name)[:64]!r} is not a valid variable name")
        if reserved_env_name(name):
            raise InvalidJob(f"env name {name!r} is reserved: the system sets it")
        if not isinstance(value, str) or len(value) > MAX_ENV_VALUE:
            raise InvalidJob(f"env value of {name!r} must be a string of at most {MAX_ENV_VALUE} characters")
        env[name] = value
    return env


def _quantity(name: str, raw: object) -> tuple[str, Fraction]:
    """A CPU or memory quantity as given (a string, or a JSON number), and its value."""
    cpu = name in CPU_FIELDS
    example = "500m or 2" if cpu else "2048M or 4Gi"
    text = str(raw).strip() if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None
    try:
        if text is None:
            raise InvalidQuantity(raw)
        value = parse_quantity(text)
    except InvalidQuantity:
        raise InvalidJob(f"{name} must be a Kubernetes quantity such as {example}, not {str(raw)[:40]!r}") from None
    if value <= 0:
        raise InvalidJob(f"{name} must be above 0, not {text!r}")
    top = MAX_CPU if cpu else MAX_MEMORY
    if value > parse_quantity(top):
        raise InvalidJob(f"{name} must be at most {top}{' cores' if cpu else ''}, not {text!r}")
    return text, value


def parse_resources(params: Mapping[str, Any]) -> dict[str, str]:
    """cpurequest, cpulimit, memoryrequest, memorylimit among params, checked: each a
    quantity above 0, and a request never above its limit. Missing ones stay missing:
    the operator pairs them and applies the cluster's defaults (compute.py)."""
    given: dict[str, str] = {}
    for request, limit in (CPU_FIELDS, MEMORY_FIELDS):
        values: dict[str, Fraction] = {}
        for name in (request, limit):
            if params.get(name) not in (None, ""):
                given[name], values[name] = _quantity(name, params[name])
        if len(values) == 2 and values[request] > values[limit]:
            raise InvalidJob(f"{request} {given[request]} is above {limit} {given[limit]}: "
                             "a request may not exceed its limit")
    return given


def parse_gpu_type(raw: object, known: Collection[str] = ()) -> str:
    """A GPU type name; one of `known` when the cluster lists its types."""
    if not isinstance(raw, str) or len(raw.strip()) > MAX_GPU_TYPE or not re.fullmatch(GPU_TYPE_PATTERN, raw.strip()):
        raise InvalidJob(f"gpuType must be a GPU type name (letters, digits, '-', '_', '.', "
                         f"at most {MAX_GPU_TYPE}), not {str(raw)[:40]!r}")
    if (problem := unknown_gpu_type(raw.strip(), known)) is not None:
        raise InvalidJob(problem)
    return raw.strip()


def parse_vc_name(raw: object) -> str:
    """A virtual cluster's name (DLWS's vcName)."""
    if not isinstance(raw, str) or len(raw.strip()) > MAX_VC_NAME or not re.fullmatch(VC_NAME_PATTERN, raw.strip()):
        raise InvalidJob(f"vcName must be a virtual cluster's name (letters, digits, '-', '_', '.', "
                         f"at most {MAX_VC_NAME}), not {str(raw)[:40]!r}")
    return raw.strip()


def unknown_gpu_type(gpu_type: str, known: Collection[str]) -> str | None:
    """Why a job may not name this GPU type, or None: the cluster lists its types
    (`known`; empty: any type) and this is not one of them. The shim refuses such a
    SubmitJob; the operator fails such a job applied without the shim."""
    if not known or gpu_type in known:
        return None
    return f"unknown gpuType {gpu_type!r}: this cluster has {', '.join(sorted(known))}"


def gpu_type_list(raw: str) -> frozenset[str]:
    """A comma-separated list of GPU type names (a setting of the shim and the operator);
    ValueError naming the first bad one."""
    types = frozenset(t.strip() for t in raw.split(",") if t.strip())
    bad = sorted(t for t in types if len(t) > MAX_GPU_TYPE or not re.fullmatch(GPU_TYPE_PATTERN, t))
    if bad:
        raise ValueError(f"GPU types must be names separated by commas, not {bad[0]!r}")
    return types


def _training(params: Mapping[str, Any], max_pods: int) -> dict[str, Any]:
    """jobtrainingtype and, for a PSDistJob, its two counts (each at least 1, their sum
    within the cluster's bound of Pods per job)."""
    training = params.get("jobtrainingtype", REGULAR_JOB) or REGULAR_JOB
    if training == distributed.MPI_DIST:
        raise InvalidJob("jobtrainingtype MPIDistJob is not supported (DLWS never launched it either): "
                         "use PSDistJob or RegularJob")
    if training not in SUPPORTED_TRAINING_TYPES:
        raise InvalidJob(f"unknown jobtrainingtype {str(training)[:40]!r}: use RegularJob or PSDistJob")
    if params.get("nummpiworker") not in (None, "", 0, "0"):
        raise InvalidJob("nummpiworker applies only to MPIDistJob, which is not supported")
    out: dict[str, Any] = {"jobtrainingtype": training}
    if not distributed.is_distributed(training):
        for name in distributed.COUNT_FIELDS:
            if name in params and _int(name, params[name], 0, distributed.MAX_COUNT) != 0:
                raise InvalidJob(f"{name} applies only to jobtrainingtype PSDistJob")
        return out
    for name in distributed.COUNT_FIELDS:
        if params.get(name) in (None, ""):
            raise InvalidJob(f"{name} is required for a PSDistJob: a whole number, at least 1")
        out[name] = _int(name, params[name], 1, distributed.MAX_COUNT)
    if (problem := distributed.too_many_pods(out["numps"], out["numpsworker"], max_pods)) is not None:
        raise InvalidJob(problem)
    return out


def spec_from_parameters(params: Mapping[str, Any], *, gpu_types: Collection[str] = (),
                         max_pods: int = distributed.MAX_PODS_DEFAULT) -> JobSpec:
    """Turns SubmitJob parameters into a job spec, or raises InvalidJob with a clear message.

    Values may be strings (query strings, forms) or JSON types (a JSON body). userName and
    userId are not read: the caller fills them from the submitter. gpu_types: the GPU
    types a job may name (empty: any); max_pods: the cluster's bound of Pods per job.
    """
    unknown = sorted(k for k in params if k not in SUBMIT_PARAMETERS)
    if unknown:
        shown = ", ".join(repr(k[:64]) for k in unknown[:5])
        raise InvalidJob(f"unknown parameter(s): {shown}")
    for name, message in _REQUIRED.items():
        value = params.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InvalidJob(message)
    spec: dict[str, Any] = {}
    for name, limit in _STRING_FIELDS.items():
        if name not in params:
            continue
        value = params[name]
        if not isinstance(value, str):
            raise InvalidJob(f"{name} must be a string")
        if len(value) > limit:
            raise InvalidJob(f"{name} is too long: at most {limit} characters, not {len(value)}")
        if "\x00" in value:
            raise InvalidJob(f"{name} must not contain NUL characters")
        spec[name] = value if name == "cmd" else value.strip()
        if name in STORAGE_PATH_FIELDS and (problem := path_problem(name, spec[name])) is not None:
            raise InvalidJob(problem)
    spec["resourcegpu"] = _int("resourcegpu", params["resourcegpu"], 0, MAX_GPUS)
    spec.update(_training(params, max_pods))
    if params.get("interactivePort") not in (None, ""):
        spec["interactivePorts"] = _ports(params["interactivePort"])
    if "runningasroot" in params:
        spec["runningasroot"] = _bool("runningasroot", params["runningasroot"])
    spec.update(parse_resources(params))
    if params.get("gpuType") not in (None, ""):
        spec["gpuType"] = parse_gpu_type(params["gpuType"], gpu_types)
    if params.get("vcName") not in (None, ""):
        spec["vcName"] = parse_vc_name(params["vcName"])
    if "preemptionAllowed" in params:
        spec["preemptionAllowed"] = _bool("preemptionAllowed", params["preemptionAllowed"])
    if "env" in params:
        env = parse_env(params["env"])
        if distributed.is_distributed(spec["jobtrainingtype"]) and (
                taken := sorted(set(env) & set(distributed.LAUNCHER_ENV))):
            raise InvalidJob(f"env name {taken[0]!r} is reserved in a PSDistJob: the system sets it")
        if env:
            spec["env"] = env
    return spec  # type: ignore[return-value]
