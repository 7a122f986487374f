"""How the shim, the operator (and the benchmark's baseline) configure kubernetes.aio's
HTTP session, so that all three talk to the API server the same way."""
from collections.abc import Mapping
from typing import Any

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def client_session_kwargs(environ: Mapping[str, str]) -> dict[str, Any]:
    """Extra aiohttp.ClientSession arguments for kubernetes.aio's Configuration.

    kubernetes.aio opens its session with trust_env=True. Our credentials travel in an
    Authorization header, so aiohttp then looks for ~/.netrc credentials on every
    request, in the default thread pool: a thread hop and a file lookup per API call
    (py-spy: the shim's busiest thread during SubmitJob). trust_env is only worth that
    when a proxy is configured through the environment; then it stays on.
    """
    return {"trust_env": any(environ.get(name) for name in PROXY_VARIABLES)}
