"""Plain-JSON calls to the API server through kubernetes.aio's transport, for the shim and
the operator alike.

The client's transport (auth, TLS, proxies, timeouts) is what we want from the library;
its typed API classes are not: they validate request and answer into pydantic models on
every call (CPU on the hot path) and importing CoreV1Api alone costs 25 MB of resident
memory. Everything here speaks the dicts the builders and the API server speak.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final, cast

from kubernetes.aio.client.api_client import ApiClient
from kubernetes.aio.client.exceptions import ApiException
from kubernetes.aio.client.rest import RESTResponse

JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"

Query = Sequence[tuple[str, Any]]


def collection_path(group: str, version: str, plural: str, namespace: str | None = None) -> str:
    """The URL path of a collection: core ("" group) or an API group, one namespace or all."""
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    return prefix + (f"/namespaces/{namespace}" if namespace else "") + f"/{plural}"


async def send(api: ApiClient, method: str, path: str, *, query: Query = (),
               body: dict[str, Any] | None = None, content_type: str = JSON,
               timeout: float) -> RESTResponse:
    """One call; the answer unread (a watch streams it). The caller checks the status."""
    headers = {"Accept": JSON}
    if body is not None:
        headers["Content-Type"] = content_type
    method, url, headers, payload, post = await api.param_serialize(
        method=method, resource_path=path, query_params=list(query), header_params=headers,
        body=body, auth_settings=["BearerToken"])
    return await api.call_api(method, url, headers, payload, post, _request_timeout=timeout)


async def request(api: ApiClient, method: str, path: str, *, query: Query = (),
                  body: dict[str, Any] | None = None, content_type: str = JSON,
                  timeout: float) -> dict[str, Any]:
    """One call and its JSON answer; ApiException for any answer but 2xx."""
    response = await send(api, method, path, query=query, body=body, content_type=content_type,
                          timeout=timeout)
    data = await response.read()  # type: ignore[no-untyped-call]
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=data.decode("utf-8", "replace"), data=None)
    return cast(dict[str, Any], json.loads(data))
