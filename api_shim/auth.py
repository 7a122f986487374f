"""Who is calling: the family token from the request, and the family it belongs to.

The token comes as the query (or body) parameter `familyToken`, as the seed samples send
it, or as `Authorization: Bearer <token>`. It is never stored, logged or echoed: only its
digest is used to find the family, then the token is compared in constant time.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from api_shim.access_log import REDACTED
from api_shim.errors import Forbidden, NotReady
from api_shim.families import Family
from api_shim.job_index import JobIndex
from api_shim.store import JobStore

TOKEN_PARAM: Final = "familyToken"


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


class Call:
    """An authenticated call: its parameters and family, and the token only to keep it out
    of what we write and answer."""

    def __init__(self, params: dict[str, Any], family: Family, token: str) -> None:
        self.params = params
        self.family = family
        self._token = token

    def text(self, name: str) -> str:
        value = self.params.get(name)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return ""  # absent, or not a value a jobId or parentJobId can be
        return str(value).strip()

    def echo(self, value: str) -> str:
        """A caller's value fit to repeat in an answer: never the token, never huge."""
        return value.replace(self._token, REDACTED)[:256] if self._token else value[:256]

    def redact(self, text: str) -> str:
        """Text a job made (its log) without the family token it may have printed."""
        return text.replace(self._token, REDACTED) if self._token else text

    def carries_token(self) -> bool:
        """Whether any parameter other than familyToken holds the token (e.g. an env
        value): it would then be written into a DLWSJob spec."""
        for name, value in self.params.items():
            if name == TOKEN_PARAM:
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            if self._token in text:
                return True
        return False


def authenticate(params: dict[str, Any], authorization: str | None, index: JobIndex,
                 store: JobStore) -> Call:
    """The call of the request's parameters and Authorization header: its family from the
    token; NotReady until the index has loaded, Forbidden for a token of no live family."""
    if not index.synced:
        raise NotReady("the shim is still loading the job index; try again in a moment")
    token = presented_token(params, authorization)
    return Call(params, Family.authenticate(token, index, store), token)
