"""The operator's own Kubernetes calls (kopf has its own client for watching and patching
the object a handler runs for; these are the calls on other objects)."""
import os
from typing import Any, cast

from kubernetes.aio import client, config
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import resource


async def new_api_client() -> client.ApiClient:
    """In a cluster, the ServiceAccount; elsewhere, the kubeconfig named by $KUBECONFIG."""
    configuration = client.Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        await config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.environ.get("KUBECONFIG"),
                                      client_configuration=configuration)
    return client.ApiClient(configuration)


def namespace_terminating(exc: BaseException) -> bool:
    """Nothing can be created in a namespace being deleted; retrying is pointless."""
    return isinstance(exc, ApiException) and exc.status == 403 and "NamespaceTerminating" in str(exc.body)


class Kube:
    """Typed wrappers around the few calls the handlers make."""

    def _plain(self, model: object) -> dict[str, Any]:
        """A client model as the plain JSON dict the builders and tests speak."""
        return cast(dict[str, Any], self.api.sanitize_for_serialization(model))  # type: ignore[no-untyped-call]

    def __init__(self, api: client.ApiClient, timeout: float) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.timeout = timeout

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            secret = await self.core.read_namespaced_secret(name, namespace, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return self._plain(secret)

    async def create_secret(self, body: dict[str, Any]) -> bool:
        """True if created, False if one of that name already existed."""
        try:
            # A plain dict: the client validates it into its V1Secret model.
            await self.core.create_namespaced_secret(body["metadata"]["namespace"], body,  # type: ignore[arg-type]
                                                     _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            pod = await self.core.read_namespaced_pod(name, namespace, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return self._plain(pod)

    async def create_pod(self, body: dict[str, Any]) -> bool:
        """True if created, False if a Pod of that name already existed."""
        try:
            await self.core.create_namespaced_pod(body["metadata"]["namespace"], body,  # type: ignore[arg-type]
                                                  _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    async def get_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            job = await self.custom.get_namespaced_custom_object(
                resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name,
                _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return cast(dict[str, Any], job)

    async def patch_job_status(self, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any] | None:
        """JSON-merge-patches the status subresource; None if the job is gone."""
        try:
            job = await self.custom.patch_namespaced_custom_object_status(
                resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name,
                {"status": status}, _content_type="application/merge-patch+json",
                _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return cast(dict[str, Any], job)
