"""The record of a kill: one ConfigMap per KillJob, written by the shim once the kill's
delete is accepted, naming the job killed, when, and every job that died with it. Pure.

Why one object per kill: the garbage collector still does the cascade (a record of the
subtree costs one write, not one per job), the DLWSJobs it deletes take nothing of ours
with them, and a record outlives its jobs, surviving restarts of the shim and the
operator (both read records by a list + watch). It is owned by the family's root (not by
a killed job), so it goes with the family (ttlSecondsAfterFinished, or a kill of the
root, whose own record then has no owner and expires by its own time). It holds names,
times and the family digest (already on every job's labels), never a token.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from dlws_contract import resource

LABEL_KILLED: Final = f"{resource.GROUP}/killed"  # the job the kill named
DATA_KEY: Final = "record.json"
# One ConfigMap holds up to 1 MiB; a killed job's entry is about 150 bytes, so a record
# holds a subtree of several thousand jobs. Larger subtrees keep the jobs nearest the
# one killed (breadth first) and say how many were left out.
MAX_ENTRIES: Final = 5000
SELECTOR: Final = LABEL_KILLED  # every record, whatever it names


@dataclass(frozen=True, slots=True)
class KilledJob:
    """One job a kill took: as JobDetail tells it after the job is gone."""
    name: str
    uid: str
    job_name: str
    parent: str | None
    created: str | None


@dataclass(frozen=True, slots=True)
class KillRecord:
    namespace: str
    killed: str              # the job KillJob named
    killed_at: str           # when (a Kubernetes timestamp)
    family: str              # the family digest
    root: str                # the family root's name
    ttl: int | None          # seconds to keep it after killed_at (None: keep until the root goes)
    jobs: tuple[KilledJob, ...]
    left_out: int = 0


def record_name(job: str) -> str:
    return f"dlws-killed-{job}"


def build_record(record: KillRecord, root_owner: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ConfigMap of a kill. root_owner: the family root as an object (metadata.name and
    uid), when the kill named a job below it."""
    data = {
        "killedJob": record.killed, "killedAt": record.killed_at, "ttlSecondsAfterFinished": record.ttl,
        "leftOut": record.left_out,
        "jobs": [{"jobId": j.name, "uid": j.uid, "jobName": j.job_name, "parentJobId": j.parent,
                  "jobTime": j.created} for j in record.jobs],
    }
    meta: dict[str, Any] = {
        "name": record_name(record.killed), "namespace": record.namespace,
        "labels": {LABEL_KILLED: record.killed, resource.LABEL_FAMILY: record.family,
                   resource.LABEL_ROOT: record.root,
                   resource.LABEL_MANAGED_BY: "dlws-api-shim"},
    }
    if root_owner is not None:
        meta["ownerReferences"] = [resource.owner_reference(root_owner, controller=False)
                                   | {"blockOwnerDeletion": False}]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": {DATA_KEY: json.dumps(data, separators=(",", ":"))}}


def parse_record(obj: Mapping[str, Any]) -> KillRecord | None:
    """The record a ConfigMap holds; None for one that is not a well-formed record."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    try:
        data = json.loads((obj.get("data") or {}).get(DATA_KEY) or "")
        ttl = data.get("ttlSecondsAfterFinished")
        jobs = tuple(KilledJob(name=str(j["jobId"]), uid=str(j.get("uid") or ""),
                               job_name=str(j.get("jobName") or ""), parent=j.get("parentJobId") or None,
                               created=j.get("jobTime") or None) for j in data.get("jobs") or [])
        return KillRecord(namespace=str(meta.get("namespace") or ""), killed=str(data["killedJob"]),
                          killed_at=str(data["killedAt"]), family=str(labels.get(resource.LABEL_FAMILY) or ""),
                          root=str(labels.get(resource.LABEL_ROOT) or ""),
                          ttl=ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else None,
                          jobs=jobs, left_out=int(data.get("leftOut") or 0))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def bounded(jobs: Iterable[KilledJob]) -> tuple[tuple[KilledJob, ...], int]:
    """At most MAX_ENTRIES of the jobs (given nearest first), and how many were left out."""
    listed = list(jobs)
    return tuple(listed[:MAX_ENTRIES]), max(0, len(listed) - MAX_ENTRIES)


KILLED_PHASE: Final = "Killed"  # the phase shown for a killed job its record stands for


def killed_objects(record: KillRecord, present: Iterable[str]) -> list[dict[str, Any]]:
    """The jobs of a record that are gone (not among `present`), as DLWSJob-shaped objects
    for a family's tree (kubectl dlws tree), their phase KILLED_PHASE."""
    here = set(present)
    return [{"metadata": {"name": job.name, "namespace": record.namespace, "creationTimestamp": job.created,
                          "labels": {resource.LABEL_PARENT: job.parent} if job.parent else {}},
             "spec": {"jobName": job.job_name}, "status": {"phase": KILLED_PHASE}}
            for job in record.jobs if job.name not in here]
