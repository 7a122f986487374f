"""A job family: its Secret, where the family's token lives and the only place it is
written (made once, for the root), and the check that a child belongs to its root's family."""
import base64
from collections.abc import Mapping
from typing import Any

import kopf

from dlws_contract import resource, tokens
from dlws_operator import metrics
from dlws_operator.event_poster import EventPoster, post_event
from dlws_operator.events import JobRef
from dlws_operator.job_view import JobLookup
from dlws_contract.kube_api import Kube, core_path

FAMILY_SECRET_COMPONENT = "family-token"


def build_family_secret(root: Mapping[str, Any], token: str) -> dict[str, Any]:
    meta = root["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        # Immutable: a token never changes for the life of its family.
        "immutable": True,
        "metadata": {
            "name": resource.family_secret_name(meta["name"]),
            "namespace": meta["namespace"],
            "labels": {
                resource.LABEL_ROOT: meta["name"],
                resource.LABEL_COMPONENT: FAMILY_SECRET_COMPONENT,
                resource.LABEL_MANAGED_BY: resource.MANAGED_BY,
            },
            "ownerReferences": [resource.owner_reference(root)],
        },
        "stringData": {resource.SECRET_TOKEN_KEY: token},
    }


def token_of(secret: Mapping[str, Any]) -> str:
    data = secret.get("data") or {}
    raw = data.get(resource.SECRET_TOKEN_KEY)
    if not raw:
        raise ValueError("family Secret has no token")
    return base64.b64decode(raw).decode("utf-8")


def digest_of(secret: Mapping[str, Any]) -> str:
    return tokens.family_digest(token_of(secret))


async def ensure_family(kube: Kube, events: EventPoster, root: Mapping[str, Any]) -> str:
    """Returns the digest of the root's family token, making token and Secret once."""
    meta = root["metadata"]
    name = resource.family_secret_name(meta["name"])
    for _ in range(2):
        secret = await kube.get(core_path(meta["namespace"], "secrets", name))
        if secret is not None:
            if not resource.owned_by(secret, meta["uid"]):
                raise kopf.TemporaryError(
                    f"Secret {name} exists but is not owned by this job (a deleted job of the same "
                    "name whose Secret awaits garbage collection, or a name clash); retrying", delay=10)
            return digest_of(secret)
        if await kube.create(core_path(meta["namespace"], "secrets"),
                             build_family_secret(root, tokens.new_token())) is not None:
            post_event(events, JobRef.of(meta), type="Normal", reason="FamilyCreated",
                       message=f"family token stored in Secret {name}")
            metrics.FAMILIES_CREATED.inc()
        # Created (or lost a race): read back what is stored, the only token that counts.
    raise kopf.TemporaryError(f"Secret {name} vanished right after it was made; retrying", delay=5)


async def verify_child(kube: Kube, job: Mapping[str, Any], jobs: JobLookup) -> str | None:
    """Why a child may not run, or None. A child must name its parent as an owner and
    carry the digest of its root's token: a hand-made DLWSJob cannot join a family."""
    meta = job["metadata"]
    labels = meta.get("labels") or {}
    parent, root = labels.get(resource.LABEL_PARENT), labels.get(resource.LABEL_ROOT)
    owners = [o for o in meta.get("ownerReferences") or [] if o.get("kind") == resource.KIND]
    if not root or not any(o.get("name") == parent for o in owners):
        return f"a child job needs the {resource.LABEL_ROOT} label and an ownerReference to its parent {parent!r}"
    claimed = labels.get(resource.LABEL_FAMILY, "")
    # The root's status.familyDigest was written by us from its Secret (users cannot write
    # status), so it stands in for reading the Secret once per child.
    root_view = jobs.view(meta["namespace"], root)
    if root_view is not None and root_view.family_digest:
        matches = tokens.same_digest(root_view.family_digest, claimed)
    else:
        secret = await kube.get(core_path(meta["namespace"], "secrets", resource.family_secret_name(root)))
        if secret is None:
            return f"the family of root job {root!r} does not exist in namespace {meta['namespace']!r}"
        matches = tokens.matches(token_of(secret), claimed)
    if not matches:
        return f"the {resource.LABEL_FAMILY} label does not match the family of root job {root!r}"
    return None
