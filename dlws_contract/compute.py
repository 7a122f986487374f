"""A job's CPU and memory as it runs: DLWS's pairing and the cluster's defaults. Pure.

DLWS's rule, per resource: a job that names neither request nor limit gets the cluster's
defaults (500m / 500m CPU, 2048M / 2560M memory unless the operator's settings say
otherwise); one that names only one of the pair gets the other equal to it, so a job
asking for `memorylimit=64M` gets a 64M request, not the default 2048M above its limit.

The operator applies this (pod_spec.py) and reports the result in status.resources,
read from the Pod it made, so `kubectl get dlwsjob -o yaml` shows what the job got
whether it came through SubmitJob or was applied by GitOps without any resources.
"""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dlws_contract.quantity import InvalidQuantity, parse_quantity
from dlws_contract.spec import CPU_FIELDS, MEMORY_FIELDS

# DLWS's own cluster defaults.
DEFAULT_CPU_REQUEST: Final = "500m"
DEFAULT_CPU_LIMIT: Final = "500m"
DEFAULT_MEMORY_REQUEST: Final = "2048M"
DEFAULT_MEMORY_LIMIT: Final = "2560M"


@dataclass(frozen=True)
class ResourceDefaults:
    cpurequest: str = DEFAULT_CPU_REQUEST
    cpulimit: str = DEFAULT_CPU_LIMIT
    memoryrequest: str = DEFAULT_MEMORY_REQUEST
    memorylimit: str = DEFAULT_MEMORY_LIMIT

    def __post_init__(self) -> None:
        for request, limit in (CPU_FIELDS, MEMORY_FIELDS):
            try:
                low, high = parse_quantity(getattr(self, request)), parse_quantity(getattr(self, limit))
            except InvalidQuantity as exc:
                raise ValueError(f"default {request}/{limit}: {exc} is not a quantity") from None
            if not 0 < low <= high:
                raise ValueError(f"default {request} {getattr(self, request)} must be above 0 and "
                                 f"not above default {limit} {getattr(self, limit)}")


def effective_resources(spec: Mapping[str, Any], defaults: ResourceDefaults) -> dict[str, str]:
    """cpurequest, cpulimit, memoryrequest, memorylimit of a job: its own, paired, or the defaults."""
    got: dict[str, str] = {}
    for request, limit in (CPU_FIELDS, MEMORY_FIELDS):
        asked, capped = spec.get(request), spec.get(limit)
        if asked is None and capped is None:
            asked, capped = getattr(defaults, request), getattr(defaults, limit)
        got[request] = str(asked if asked is not None else capped)
        got[limit] = str(capped if capped is not None else asked)
    return got


def container_resources(resources: Mapping[str, str], gpus: int) -> dict[str, dict[str, str]]:
    """A container's `resources` from effective_resources (and GPUs, limits only, as the
    device plugin wants them)."""
    limits = {"cpu": resources["cpulimit"], "memory": resources["memorylimit"]}
    if gpus:
        limits["nvidia.com/gpu"] = str(gpus)
    return {"requests": {"cpu": resources["cpurequest"], "memory": resources["memoryrequest"]},
            "limits": limits}
