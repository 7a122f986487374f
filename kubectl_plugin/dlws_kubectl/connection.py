"""The API client and the namespace, from kubectl's usual flags and files."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from kubernetes.aio import config
from kubernetes.aio.client.api_client import ApiClient

from dlws_contract import kube_api

SERVICE_ACCOUNT_NAMESPACE: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def in_cluster(kubeconfig: str | None, context: str | None) -> bool:
    """Where new_api_client takes a pod's ServiceAccount: no kubeconfig named, inside a pod."""
    return not kubeconfig and not context and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


async def api_client(kubeconfig: str | None, context: str | None) -> ApiClient:
    return await kube_api.new_api_client(kubeconfig, context=context)


def default_namespace(kubeconfig: str | None, context: str | None) -> str:
    """kubectl's: the context's namespace, in a pod its own, else `default`."""
    if in_cluster(kubeconfig, context):
        try:
            return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
        except OSError:
            return "default"
    contexts: list[dict[str, Any]]
    contexts, current = config.list_kube_config_contexts(kubeconfig)  # type: ignore[no-untyped-call]
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else current
    return str(((chosen or {}).get("context") or {}).get("namespace") or "default")
