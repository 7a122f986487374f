"""Retries for event-driven writes: kopf event handlers and the pod mirror's workers.

kopf retries a failed on.create/on.resume handler, but an exception from an on.event
handler is logged and dropped. A job's status is written from pod events, so a status
patch that failed while the API server or etcd restarted would be lost until the pod
changed again, which for a finished pod is never. These writes are idempotent (they
write what the object implies), so on a transient failure they run again, with backoff,
until the API answers. Both kopf and the pod mirror's work queue hand one object to one
worker at a time, so a newer change to the same object waits and runs after the retry.
"""
import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import aiohttp
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract.kube_api import namespace_terminating

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

log = logging.getLogger(__name__)

# Long enough to outlast a control-plane restart or upgrade; past it the handler fails
# as before (kopf logs it), and a restart of the operator reconciles every pod again.
RETRY_FOR: Final = 600.0
FIRST_DELAY: Final = 0.5
MAX_DELAY: Final = 15.0


def transient(exc: BaseException) -> bool:
    """Whether the API may answer differently soon: it is unreachable, overloaded or
    restarting (5xx, 429; 403 too, which an API server answers for a moment after a
    restart while its RBAC caches fill, except a namespace being deleted)."""
    if isinstance(exc, ApiException):
        status = exc.status or 0
        return status >= 500 or status == 429 or (status == 403 and not namespace_terminating(exc))
    return isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, ConnectionError))


def retry_transient(what: str, *, retry_for: float = RETRY_FOR,
                    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                    clock: Callable[[], float] = time.monotonic) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            deadline = clock() + retry_for
            delay = FIRST_DELAY
            while True:
                try:
                    return await fn(*args, **kwargs)
                except Exception as exc:
                    if not transient(exc) or clock() + delay > deadline:
                        raise
                    log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__,
                                str(exc)[:200], delay)
                await sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
        return wrapper  # type: ignore[return-value]
    return decorate
