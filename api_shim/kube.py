"""The one long-lived Kubernetes API client of the shim."""
from __future__ import annotations

import os

from kubernetes.aio import client, config

from api_shim.settings import Settings
from dlws_contract.kube_api import client_session_kwargs


async def new_api_client(settings: Settings) -> client.ApiClient:
    configuration = client.Configuration()
    if settings.kubeconfig:
        await config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=settings.kubeconfig, client_configuration=configuration,
            persist_config=False)
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        await config.load_kube_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration, persist_config=False)
    configuration.client_session_kwargs = client_session_kwargs(os.environ)
    return client.ApiClient(configuration=configuration)
