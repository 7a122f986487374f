"""Operator settings, from the environment (the Deployment sets them) with safe defaults."""
import os
from dataclasses import dataclass
from typing import TypeVar

DEFAULT_REST_API = "http://dlws-api.dlws-system.svc:5000/"


@dataclass(frozen=True)
class OperatorSettings:
    # Injected into every job as DLWS_REST_API. The seed document's samples build URLs
    # both as REST_API + "/child/..." and as REST_API + "KillJob", so it ends with "/".
    rest_api: str = DEFAULT_REST_API
    # Kubernetes API request timeout, seconds: a hung call must not stall a handler forever.
    request_timeout: float = 30.0
    # How many jobs may be started (family Secret, Pod) at once; the others wait their
    # turn. Unbounded, a burst of new jobs puts hundreds of API calls and their
    # connections in flight together: more memory, no faster (docs/benchmarks.md).
    concurrent_starts: int = 32
    # asyncio's TLS read buffer per connection, bytes (tls_buffers.py); 0: asyncio's own.
    tls_read_buffer: int = 64 * 1024

    @classmethod
    def from_env(cls) -> "OperatorSettings":
        rest_api = os.environ.get("DLWS_REST_API", DEFAULT_REST_API)
        if not rest_api.endswith("/"):
            rest_api += "/"
        return cls(
            rest_api=rest_api,
            request_timeout=number("DLWS_OPERATOR_REQUEST_TIMEOUT", 30.0, "a number of seconds above 0"),
            concurrent_starts=number("DLWS_OPERATOR_CONCURRENT_STARTS", 32, "a whole number of at least 1"),
            tls_read_buffer=number("DLWS_OPERATOR_TLS_READ_BUFFER", 64 * 1024, "a whole number of bytes, or 0",
                                   zero=True),
        )


N = TypeVar("N", int, float)


def number(name: str, default: N, what: str, *, zero: bool = False) -> N:
    """The environment variable `name` as a number of the default's type, above 0 (or 0
    if `zero`) and finite; a clear error naming the variable otherwise."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        value = type(default)(-1)
    if not ((0 <= value) if zero else (0 < value)) or not value < float("inf"):  # also refuses nan
        raise ValueError(f"{name} must be {what}, not {raw!r}")
    return value
