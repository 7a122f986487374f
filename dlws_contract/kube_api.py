"""The one way the shim, the operator and the benchmarks reach the API server: a client
built one way, plain-JSON calls through kubernetes.aio's transport, and the few pieces of
object metadata (timestamps; owner references, from resource.py) that more than one of
them writes.

The client's transport (auth, TLS, proxies, timeouts) is what we want from the library;
its typed API classes are not: they validate request and answer into models on every call
(CPU on the hot path) and cost resident memory to import. Everything here speaks the dicts
the builders and the API server speak.
"""
from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from kubernetes.aio import config
from kubernetes.aio.client.api_client import ApiClient
from kubernetes.aio.client.configuration import Configuration
from kubernetes.aio.client.exceptions import ApiException
from kubernetes.aio.client.rest import RESTResponse

from dlws_contract import resource
# Defined with the names it points at (pure builders use it from there); the shim, the
# kubectl plugin and bench import it from here.
from dlws_contract.resource import owner_reference as owner_reference

JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"
TABLE: Final = "application/json;as=Table;v=v1;g=meta.k8s.io"  # what kubectl get prints
PROXY_VARIABLES: Final = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")
TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"

Query = Sequence[tuple[str, Any]]
Object = dict[str, Any]


# -- the client ---------------------------------------------------------------------------


def client_session_kwargs(environ: Mapping[str, str]) -> dict[str, Any]:
    """Extra aiohttp.ClientSession arguments for kubernetes.aio's Configuration.

    kubernetes.aio opens its session with trust_env=True, and aiohttp then looks for
    ~/.netrc credentials on every request, in a thread: worth it only when a proxy is
    configured through the environment, and then it stays on.
    """
    return {"trust_env": any(environ.get(name) for name in PROXY_VARIABLES)}


async def new_api_client(kubeconfig: str | None = None, *, context: str | None = None,
                         pool: int | None = None) -> ApiClient:
    """The kubeconfig named; else, in a pod, its ServiceAccount; else $KUBECONFIG or
    ~/.kube/config. context: one of the kubeconfig's (never the ServiceAccount's) instead
    of its current one. pool: most connections kept open at once (the library's default: 100)."""
    configuration = Configuration()
    if kubeconfig or context:
        await config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, client_configuration=configuration,
            persist_config=False)
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        await config.load_kube_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration, persist_config=False)
    if pool is not None:
        configuration.connection_pool_maxsize = pool
    configuration.client_session_kwargs = client_session_kwargs(os.environ)
    return ApiClient(configuration)


# -- paths ----------------------------------------------------------------------------------


def collection_path(group: str, version: str, plural: str, namespace: str | None = None) -> str:
    """The URL path of a collection: core ("" group) or an API group, one namespace or all."""
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    return prefix + (f"/namespaces/{namespace}" if namespace else "") + f"/{plural}"


def core_path(namespace: str, plural: str, name: str = "") -> str:
    return collection_path("", "v1", plural, namespace) + (f"/{name}" if name else "")


def job_path(namespace: str | None, name: str = "") -> str:
    """DLWSJobs of a namespace (all namespaces: None), or one of them."""
    return collection_path(resource.GROUP, resource.VERSION, resource.PLURAL, namespace) + (
        f"/{name}" if name else "")


# -- calls ----------------------------------------------------------------------------------


async def send(api: ApiClient, method: str, path: str, *, query: Query = (),
               body: Mapping[str, Any] | None = None, content_type: str = JSON,
               timeout: float, accept: str = JSON) -> RESTResponse:
    """One call; the answer unread (a watch streams it). The caller checks the status.
    accept: e.g. TABLE, for the server-side table kubectl get prints."""
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = content_type
    method, url, headers, payload, post = await api.param_serialize(
        method=method, resource_path=path, query_params=list(query), header_params=headers,
        body=dict(body) if body is not None else None, auth_settings=["BearerToken"])
    return await api.call_api(method, url, headers, payload, post, _request_timeout=timeout)


async def request(api: ApiClient, method: str, path: str, *, query: Query = (),
                  body: Mapping[str, Any] | None = None, content_type: str = JSON,
                  timeout: float, accept: str = JSON) -> Object:
    """One call and its JSON answer; ApiException for any answer but 2xx."""
    response = await send(api, method, path, query=query, body=body, content_type=content_type,
                          timeout=timeout, accept=accept)
    data = await response.read()  # type: ignore[no-untyped-call]
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=data.decode("utf-8", "replace"), data=None)
    return cast(Object, json.loads(data))


def server_message(error: ApiException) -> str:
    """The `message` of the Status object the API server sent, else its reason."""
    try:
        status = json.loads(error.body or "")
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
    except ValueError:
        pass
    return str(error.reason or f"HTTP {error.status}")


class Kube:
    """The calls on single objects: None (or False) where the object is gone (404) or
    already there (409), any other failure raised as ApiException."""

    def __init__(self, api: ApiClient, timeout: float) -> None:
        self.api = api
        self.timeout = timeout

    async def request(self, method: str, path: str, *, query: Query = (), body: Mapping[str, Any] | None = None,
                      content_type: str = JSON) -> Object:
        return await request(self.api, method, path, query=query, body=body, content_type=content_type,
                             timeout=self.timeout)

    async def _unless(self, code: int, method: str, path: str, **kwargs: Any) -> Object | None:
        try:
            return await self.request(method, path, **kwargs)
        except ApiException as exc:
            if exc.status == code:
                return None
            raise

    async def get(self, path: str) -> Object | None:
        return await self._unless(404, "GET", path)

    async def read_bytes(self, path: str, *, query: Query = ()) -> bytes | None:
        """A GET whose answer is not JSON (a Pod's log); None if it is gone (404)."""
        response = await send(self.api, "GET", path, query=query, timeout=self.timeout, accept="*/*")
        data: bytes = await response.read()  # type: ignore[no-untyped-call]
        if response.status == 404:
            return None
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=data.decode("utf-8", "replace"), data=None)
        return data

    async def create(self, collection: str, body: Mapping[str, Any]) -> Object | None:
        """The object made; None if one of that name already existed."""
        return await self._unless(409, "POST", collection, body=body)

    async def patch_status(self, path: str, status: Mapping[str, Any]) -> Object | None:
        """JSON-merge-patches the object's status subresource; None if it is gone."""
        return await self._unless(404, "PATCH", f"{path}/status", body={"status": dict(status)},
                                  content_type=MERGE_PATCH)

    async def delete(self, path: str, *, uid: str, propagation: str = "Foreground") -> bool:
        """Deletes the object if it is still the one with this uid; False if it is gone or
        another object now has its name."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation,
                "preconditions": {"uid": uid}}
        try:
            await self.request("DELETE", path, body=body)
        except ApiException as exc:
            if exc.status in (404, 409):
                return False
            raise
        return True


def namespace_terminating(exc: BaseException) -> bool:
    """Nothing can be created in a namespace being deleted; retrying is pointless."""
    return isinstance(exc, ApiException) and exc.status == 403 and "NamespaceTerminating" in str(exc.body)


# -- object metadata --------------------------------------------------------------------------


def timestamp(when: datetime.datetime | None = None) -> str:
    """A Kubernetes timestamp (RFC 3339, seconds, UTC) of `when`, by default now."""
    return (when or datetime.datetime.now(datetime.timezone.utc)).strftime(TIME_FORMAT)


def parse_timestamp(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
