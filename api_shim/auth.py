"""Who is calling: the family token from the request, checked against the index.

The token comes as the query (or body) parameter `familyToken`, as the seed samples send
it, or as `Authorization: Bearer <token>`. It is never stored, logged or echoed: only its
digest is used to find the family, then the token is compared in constant time.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api_shim.errors import Forbidden
from api_shim.job_index import JobIndex
from api_shim.records import JobRecord
from dlws_contract import tokens

TOKEN_PARAM = "familyToken"


@dataclass(frozen=True)
class Family:
    digest: str
    root: JobRecord

    @property
    def namespace(self) -> str:
        return self.root.namespace


def presented_token(params: Mapping[str, Any], authorization: str | None) -> str:
    """The one token the request presents; Forbidden if none, or two that differ."""
    from_param = params.get(TOKEN_PARAM)
    if from_param is not None and not isinstance(from_param, str):
        raise Forbidden("familyToken must be a string")
    from_header: str | None = None
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Forbidden("the Authorization header must be 'Bearer <familyToken>'")
        from_header = value.strip()
    if from_param and from_header and from_param != from_header:
        raise Forbidden("familyToken and the Authorization header disagree")
    token = from_param or from_header
    if not token:
        raise Forbidden("familyToken is required: pass the job's $FAMILY_TOKEN")
    return token


def authenticate(index: JobIndex, token: str) -> Family:
    """The live family the token belongs to; Forbidden otherwise."""
    if not tokens.is_well_formed(token):
        raise Forbidden("familyToken is not valid")
    digest = tokens.family_digest(token)
    root = index.family_root(digest)
    # The digest lookup finds the candidate; the constant-time compare decides.
    if root is None or root.family is None or not tokens.matches(token, root.family):
        raise Forbidden("familyToken is not valid, or its family has been killed")
    return Family(digest=digest, root=root)
