"""The few facts about a DLWSJob that the operator decides on (a JobView), read from the
job as the API server sends it, and the lookup handlers ask for them (JobLookup). Pure:
indexes.WatchedJobs keeps them fresh from its own watch."""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dlws_contract import kube_api, phases, resource
from dlws_operator.status import status_key

# Labels and annotations by which a GitOps tool marks what it manages: Argo CD's tracking
# label (its default until 3.0) and annotation (since), Flux's kustomize and helm labels.
# Such a job is not deleted by the cluster's default TTL: the tool would make it again.
GITOPS_LABELS = ("app.kubernetes.io/instance", "kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name")
GITOPS_ANNOTATIONS = ("argocd.argoproj.io/tracking-id",)


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
    # For the cleanup of ended families (decisions.cleanup): when it ended (epoch
    # seconds; None while it runs), its own ttlSecondsAfterFinished, whether GitOps manages it.
    ended_at: float | None = None
    ttl: int | None = None
    gitops: bool = False


def ended_at(status: Mapping[str, Any]) -> float | None:
    if status.get("phase") not in phases.FINISHED_PHASES:
        return None
    try:
        return kube_api.parse_timestamp(str(status.get("completionTime"))).timestamp()
    except ValueError:
        return 0.0  # ended, time not written (an older operator's refusal): long ago


def gitops_managed(meta: Mapping[str, Any]) -> bool:
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    return any(k in labels for k in GITOPS_LABELS) or any(k in annotations for k in GITOPS_ANNOTATIONS)


def job_view(meta: Mapping[str, Any], status: Mapping[str, Any],
             spec: Mapping[str, Any] | None = None) -> JobView:
    ttl = (spec or {}).get("ttlSecondsAfterFinished")
    return JobView(uid=str(meta.get("uid")), deleting=bool(meta.get("deletionTimestamp")),
                   family_digest=status.get("familyDigest"), mirrored=status_key(status),
                   parent=parent_of(meta), ended_at=ended_at(status),
                   ttl=ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else None,
                   gitops=gitops_managed(meta))


class JobLookup(Protocol):
    def view(self, namespace: str, name: str) -> JobView | None: ...

    async def complete(self) -> None:
        """Returns once every job that existed at start-up can be looked up."""

    async def delivered(self, namespace: str, name: str, uid: str, timeout: float) -> bool:
        """Waits until this job (this uid) is held, and with it every write made before
        its create; False if timeout passed first."""
