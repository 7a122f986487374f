"""What the operator remembers of jobs between events: a kopf index, fed by the watch kopf
already runs, so handlers answer "is this job being deleted?" or "is its status already
this?" without a call to the API server. The pod mirror reads it through JobLookup.
kopf runs no job handler before the index holds every job; the first one to run says so
(IndexedJobs.mark_complete)."""
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import kopf

from dlws_contract import resource
from dlws_operator.status import status_key


@dataclass(frozen=True, slots=True)
class JobId:
    """A job by name and uid: a job deleted and made again under its name is another job."""
    name: str
    uid: str    # "" when not known


def parent_of(meta: Mapping[str, Any]) -> JobId | None:
    """The parent a job names (its parent label), with the uid of its ownerReference to
    that parent; None on a root."""
    name = (meta.get("labels") or {}).get(resource.LABEL_PARENT)
    if not name:
        return None
    uid = next((str(o.get("uid", "")) for o in meta.get("ownerReferences") or []
                if o.get("kind") == resource.KIND and o.get("name") == name), "")
    return JobId(str(name), uid)


@dataclass(frozen=True)
class JobView:
    """The few facts about a DLWSJob that handlers decide on."""
    uid: str
    deleting: bool
    family_digest: str | None    # status.familyDigest: written by the operator only
    mirrored: tuple[Any, ...]    # status_key() of its status
    parent: JobId | None = None  # to walk up to the root: ancestry.py


def job_view(meta: Mapping[str, Any], status: Mapping[str, Any]) -> JobView:
    return JobView(uid=str(meta.get("uid")), deleting=bool(meta.get("deletionTimestamp")),
                   family_digest=status.get("familyDigest"), mirrored=status_key(status),
                   parent=parent_of(meta))


class JobLookup(Protocol):
    def view(self, namespace: str, name: str) -> JobView | None: ...

    async def complete(self) -> None:
        """Returns once every job that existed at start-up can be looked up."""


class IndexedJobs:
    """JobLookup over kopf's job index."""

    def __init__(self, index: kopf.Index[tuple[str, str], JobView]) -> None:
        self._index = index
        self._complete = asyncio.Event()

    def view(self, namespace: str, name: str) -> JobView | None:
        store = self._index.get((namespace, name))
        return next(iter(store), None) if store is not None else None

    def mark_complete(self) -> None:
        self._complete.set()

    async def complete(self) -> None:
        await self._complete.wait()


# A coroutine, although it never awaits: kopf runs a plain function in a thread pool,
# which for a three-line function costs more than the function itself, on every event.
@kopf.index(resource.GROUP, resource.VERSION, resource.PLURAL)
async def job_index(namespace: str | None, name: str | None, meta: kopf.Meta, status: kopf.Status,
                    **_: Any) -> dict[tuple[str, str], JobView]:
    return {(namespace or "", name or ""): job_view(meta, status)}
