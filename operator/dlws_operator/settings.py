"""Operator settings, from the environment (the Deployment sets them) with safe defaults."""
import os
from dataclasses import dataclass

DEFAULT_REST_API = "http://dlws-api.dlws-system.svc:5000/"


@dataclass(frozen=True)
class OperatorSettings:
    # Injected into every job as DLWS_REST_API. The seed document's samples build URLs
    # both as REST_API + "/child/..." and as REST_API + "KillJob", so it ends with "/".
    rest_api: str = DEFAULT_REST_API
    # Kubernetes API request timeout, seconds: a hung call must not stall a handler forever.
    request_timeout: float = 30.0

    @classmethod
    def from_env(cls) -> "OperatorSettings":
        rest_api = os.environ.get("DLWS_REST_API", DEFAULT_REST_API)
        if not rest_api.endswith("/"):
            rest_api += "/"
        return cls(
            rest_api=rest_api,
            request_timeout=float(os.environ.get("DLWS_OPERATOR_REQUEST_TIMEOUT", "30")),
        )
