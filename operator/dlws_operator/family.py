"""The family Secret: where a family's token lives, and the only place it is written."""
import base64
from collections.abc import Mapping
from typing import Any

from dlws_contract import resource, tokens
from dlws_operator.pod_spec import owner_reference

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
            "ownerReferences": [owner_reference(root)],
        },
        "stringData": {resource.SECRET_TOKEN_KEY: token},
    }


def token_of(secret: Mapping[str, Any]) -> str:
    data = secret.get("data") or {}
    raw = data.get(resource.SECRET_TOKEN_KEY)
    if not raw:
        raise ValueError("family Secret has no token")
    return base64.b64decode(raw).decode("utf-8")


def owned_by(obj: Mapping[str, Any], uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in obj.get("metadata", {}).get("ownerReferences") or [])


def digest_of(secret: Mapping[str, Any]) -> str:
    return tokens.family_digest(token_of(secret))
