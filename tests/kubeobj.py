"""Typed glue for the generated kubernetes.aio models: build them from plain dicts and
read them back as the JSON the server sent (camelCase keys), which keeps tests terse."""
from __future__ import annotations

import json
from typing import Any, Protocol, TypeVar

from kubernetes.aio import client
from kubernetes.aio.client.exceptions import ApiException

M = TypeVar("M", covariant=True)


class _FromDict(Protocol[M]):
    @classmethod
    def from_dict(cls, obj: dict[str, Any] | None) -> M | None: ...


def model(cls: type[_FromDict[M]], doc: dict[str, Any]) -> M:
    built = cls.from_dict(doc)
    assert built is not None, doc
    return built


def plain(api: client.ApiClient, obj: object) -> dict[str, Any]:
    doc: dict[str, Any] = api.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
    return doc


def status_of(error: ApiException) -> dict[str, Any]:
    """The Status object the API server sent with an error response."""
    doc: dict[str, Any] = json.loads(error.body or "{}")
    return doc
