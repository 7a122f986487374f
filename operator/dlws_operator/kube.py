"""The operator's own Kubernetes calls (kopf has its own client for watching and patching
the object a handler runs for; these are the calls on other objects). Plain JSON through
dlws_contract.kube_api: the builders speak dicts, and the typed models would cost memory
and CPU on every job.
"""
import os
from collections.abc import Awaitable
from typing import Any, TypeVar

from kubernetes.aio import config
from kubernetes.aio.client.api_client import ApiClient
from kubernetes.aio.client.configuration import Configuration
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import kube_api, resource
from dlws_contract.kube_api import client_session_kwargs

T = TypeVar("T")


async def new_api_client() -> ApiClient:
    """In a cluster, the ServiceAccount; elsewhere, the kubeconfig named by $KUBECONFIG."""
    configuration = Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        await config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration)
    # The default pool (100) lets a burst open a TLS connection per concurrent call, each
    # with its own buffers; a few dozen keep the API server busy enough.
    configuration.connection_pool_maxsize = 32
    configuration.client_session_kwargs = client_session_kwargs(os.environ)
    return ApiClient(configuration)


def namespace_terminating(exc: BaseException) -> bool:
    """Nothing can be created in a namespace being deleted; retrying is pointless."""
    return isinstance(exc, ApiException) and exc.status == 403 and "NamespaceTerminating" in str(exc.body)


async def unless_status(code: int, call: Awaitable[T]) -> T | None:
    """The call's result, or None when the API answers `code` (404: gone, 409: exists)."""
    try:
        return await call
    except ApiException as exc:
        if exc.status == code:
            return None
        raise


def core_path(namespace: str, plural: str, name: str = "") -> str:
    return kube_api.collection_path("", "v1", plural, namespace) + (f"/{name}" if name else "")


def job_status_path(namespace: str, name: str) -> str:
    jobs = kube_api.collection_path(resource.GROUP, resource.VERSION, resource.PLURAL, namespace)
    return f"{jobs}/{name}/status"


class Kube:
    """Typed wrappers around the few calls the handlers make."""

    def __init__(self, api: ApiClient, timeout: float) -> None:
        self.api = api
        self.timeout = timeout

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                      content_type: str = kube_api.JSON) -> dict[str, Any]:
        return await kube_api.request(self.api, method, path, body=body, content_type=content_type,
                                      timeout=self.timeout)

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await unless_status(404, self.request("GET", core_path(namespace, "secrets", name)))

    async def create_secret(self, body: dict[str, Any]) -> bool:
        """True if created, False if one of that name already existed."""
        path = core_path(body["metadata"]["namespace"], "secrets")
        return await unless_status(409, self.request("POST", path, body)) is not None

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await unless_status(404, self.request("GET", core_path(namespace, "pods", name)))

    async def create_pod(self, body: dict[str, Any]) -> bool:
        """True if created, False if a Pod of that name already existed."""
        path = core_path(body["metadata"]["namespace"], "pods")
        return await unless_status(409, self.request("POST", path, body)) is not None

    async def patch_job_status(self, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any] | None:
        """JSON-merge-patches the status subresource; None if the job is gone."""
        return await unless_status(404, self.request(
            "PATCH", job_status_path(namespace, name), {"status": status}, content_type=kube_api.MERGE_PATCH))

    async def post_event(self, event: dict[str, Any]) -> None:
        await self.request("POST", core_path(event["metadata"]["namespace"], "events"), event)
