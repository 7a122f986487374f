"""SubmitJob's idempotency key: a retry with the same key gets the same job, never a second.

The key never leaves the request: it only names the job, as a name-based UUID of the
family and the key, so a retry finds what an earlier call made even if that call's shim
died before answering. What the call asked for is kept as a fingerprint annotation on the
job, so the same key with other parameters can be told apart and refused.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any, Final

from api_shim.errors import ApiError, BadRequest
from dlws_contract import resource

HEADER: Final = "Idempotency-Key"
PARAMETER: Final = "idempotencyKey"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
FINGERPRINT_ANNOTATION: Final = f"{resource.GROUP}/submission"
MAX_KEY: Final = 255
# Visible ASCII: a uuid4, a ULID, "step-12/attempt" all fit; nothing to normalize.
_KEY: Final = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY}}}")
# Fixed for the life of the API: changing it would give every key a new jobId.
_NAMESPACE: Final = uuid.UUID("4d3b6c1e-7f0a-5c55-9a3e-2f1d0b6a8c47")


class KeyConflict(ApiError):
    """The key names a job that was asked for with other parameters (RFC draft
    httpapi-idempotency-key-header: 422)."""
    status = 422
    outcome = "bad_request"


def presented_key(params: Mapping[str, Any], header: str | None) -> str | None:
    """The one key the request carries (header or parameter), or None; BadRequest if it is
    malformed or the two disagree. Its value is never repeated in an answer."""
    from_param = params.get(PARAMETER)
    if from_param is not None and not isinstance(from_param, str):
        raise BadRequest(f"{PARAMETER} must be a string")
    keys = {k for k in (from_param, header) if k is not None}
    if len(keys) > 1:
        raise BadRequest(f"the {HEADER} header and the {PARAMETER} parameter disagree")
    if not keys:
        return None
    key = keys.pop()
    if not _KEY.fullmatch(key):
        raise BadRequest(f"an idempotency key must be 1 to {MAX_KEY} visible ASCII characters "
                         "(letters, digits, punctuation; no spaces)")
    return key


def job_name(digest: str, key: str) -> str:
    """The jobId a key gets in a family: the same on every shim replica, for ever."""
    return str(uuid.uuid5(_NAMESPACE, f"{digest}\n{key}"))


def fingerprint(spec: Mapping[str, Any], parent: str) -> str:
    """What a keyed call asked for, as it was understood (after parsing, so "1" and 1 agree)."""
    canonical = json.dumps({"spec": spec, "parent": parent}, sort_keys=True, separators=(",", ":"))
    return "sha256-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def fingerprint_of(obj: Mapping[str, Any]) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(FINGERPRINT_ANNOTATION)
    return value if isinstance(value, str) else None
