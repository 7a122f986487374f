"""What the operator remembers of jobs between events: a kopf index, fed by the watch kopf
already runs, so handlers answer "is this job being deleted?" or "is its status already
this?" without a call to the API server. kopf fills the index from its initial listing
before any handler runs. (Pods are remembered by pod_cache.py.)
"""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from dlws_contract import resource


@dataclass(frozen=True)
class JobView:
    """The few facts about a DLWSJob that handlers decide on."""
    uid: str
    deleting: bool
    family: str | None           # the family label
    family_digest: str | None    # status.familyDigest: written by the operator only
    mirrored: tuple[Any, ...]    # status_key() of its status


def status_key(status: Mapping[str, Any]) -> tuple[Any, ...]:
    """The part of a job status that a pod event can change; timestamps excepted, which
    a pod event recomputes without meaning a change."""
    ready = next((c.get("status") for c in status.get("conditions") or []
                  if c.get("type") == resource.CONDITION_READY), None)
    return (status.get("phase"), status.get("podName"), status.get("podIP"), ready,
            status.get("reason"), status.get("message"), status.get("completionTime") is not None)


def job_view(meta: Mapping[str, Any], status: Mapping[str, Any]) -> JobView:
    labels = meta.get("labels") or {}
    return JobView(uid=str(meta.get("uid")), deleting=bool(meta.get("deletionTimestamp")),
                   family=labels.get(resource.LABEL_FAMILY), family_digest=status.get("familyDigest"),
                   mirrored=status_key(status))


def lookup(index: kopf.Index[tuple[str, str], Any], namespace: str, name: str) -> Any | None:
    """The one value indexed under (namespace, name), or None."""
    store = index.get((namespace, name))
    return next(iter(store), None) if store is not None else None


# A coroutine, although it never awaits: kopf runs a plain function in a thread pool,
# which for a three-line function costs more than the function itself, on every event.
@kopf.index(resource.GROUP, resource.VERSION, resource.PLURAL)
async def job_index(namespace: str | None, name: str | None, meta: kopf.Meta, status: kopf.Status,
         **_: Any) -> dict[tuple[str, str], JobView]:
    return {(namespace or "", name or ""): job_view(meta, status)}
