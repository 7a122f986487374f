"""The few facts about a DLWSJob that the operator decides on (a JobView), read from the
job as the API server sends it, and the lookup handlers ask for them (JobLookup). Pure:
indexes.WatchedJobs keeps them fresh from its own watch."""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

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

    async def delivered(self, namespace: str, name: str, uid: str, timeout: float) -> bool:
        """Waits until this job (this uid) is held, and with it every write made before
        its create; False if timeout passed first."""
