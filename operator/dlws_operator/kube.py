"""The operator's own Kubernetes calls (kopf has its own client for watching and patching
the object a handler runs for; these are the calls on other objects)."""
import os
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from kubernetes.aio import client, config
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import resource
from dlws_contract.http_session import client_session_kwargs

T = TypeVar("T")


async def new_api_client() -> client.ApiClient:
    """In a cluster, the ServiceAccount; elsewhere, the kubeconfig named by $KUBECONFIG."""
    configuration = client.Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        await config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration)
    # The default pool (100) lets a burst open a TLS connection per concurrent call, each
    # with its own buffers; a few dozen keep the API server busy enough.
    configuration.connection_pool_maxsize = 32
    configuration.client_session_kwargs = client_session_kwargs(os.environ)
    return client.ApiClient(configuration)


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


class Kube:
    """Typed wrappers around the few calls the handlers make."""

    def __init__(self, api: client.ApiClient, timeout: float) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.timeout = timeout

    def _plain(self, model: object) -> dict[str, Any] | None:
        """A client model as the plain JSON dict the builders and tests speak."""
        if model is None:
            return None
        return cast(dict[str, Any], self.api.sanitize_for_serialization(model))  # type: ignore[no-untyped-call]

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._plain(await unless_status(404, self.core.read_namespaced_secret(
            name, namespace, _request_timeout=self.timeout)))

    async def create_secret(self, body: dict[str, Any]) -> bool:
        """True if created, False if one of that name already existed."""
        # A plain dict: the client validates it into its V1Secret model.
        return await unless_status(409, self.core.create_namespaced_secret(
            body["metadata"]["namespace"], body, _request_timeout=self.timeout)) is not None  # type: ignore[arg-type]

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._plain(await unless_status(404, self.core.read_namespaced_pod(
            name, namespace, _request_timeout=self.timeout)))

    async def create_pod(self, body: dict[str, Any]) -> bool:
        """True if created, False if a Pod of that name already existed."""
        return await unless_status(409, self.core.create_namespaced_pod(
            body["metadata"]["namespace"], body, _request_timeout=self.timeout)) is not None  # type: ignore[arg-type]

    async def patch_job_status(self, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any] | None:
        """JSON-merge-patches the status subresource; None if the job is gone."""
        job = await unless_status(404, self.custom.patch_namespaced_custom_object_status(
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name,
            {"status": status}, _content_type="application/merge-patch+json",
            _request_timeout=self.timeout))
        return cast(dict[str, Any] | None, job)
