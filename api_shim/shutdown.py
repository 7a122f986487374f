"""How the shim stops behind a Service, without failing a request.

    SIGTERM (or SIGINT) ─▶ /readyz 503; every answer carries "Connection: close"
        ─ shutdown_delay: still serving, new connections too, while the endpoints
          controller and every kube-proxy stop sending this replica connections ─▶
    stop accepting; idle connections closed
        ─ drain_timeout at most: the requests in flight finish and are answered ─▶
    what is still running is cut off; the watch and the API client close; exit 0

Kubernetes sends SIGTERM when it starts removing the pod and SIGKILL
terminationGracePeriodSeconds later: shutdown_delay + drain_timeout stays below it
(settings.py, manifests/shim/deployment.yaml). A second signal ends the delay at once.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from api_shim.parser_errors import AppRunner
from api_shim.settings import Settings

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Shutdown:
    """Whether a stop signal has come; /readyz and the middleware read it."""

    def __init__(self) -> None:
        self._signalled = asyncio.Event()
        self._hurried = asyncio.Event()
        self.in_flight = 0  # requests being handled
        self.cut_off = 0    # requests cancelled at the drain timeout

    @property
    def begun(self) -> bool:
        return self._signalled.is_set()

    def on_signal(self, signum: signal.Signals) -> None:
        if self.begun:
            log.info("%s again: ending the shutdown delay now", signum.name)
            self._hurried.set()
            return
        log.info("%s received: shutting down; /readyz answers 503 from now on", signum.name)
        self._signalled.set()

    async def signalled(self) -> None:
        await self._signalled.wait()

    async def delay(self, seconds: float) -> None:
        """Waits `seconds`, or until a second signal."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._hurried.wait(), seconds)


def shutdown_middleware(shutdown: Shutdown) -> Middleware:
    """Counts the requests in flight. Once shutdown has begun, every answer closes its
    connection, so a keep-alive client opens its next one to another replica."""
    @web.middleware
    async def track(request: web.Request, handler: Handler) -> web.StreamResponse:
        shutdown.in_flight += 1
        try:
            response = await handler(request)
        except asyncio.CancelledError:
            if shutdown.begun:
                shutdown.cut_off += 1
            raise
        finally:
            shutdown.in_flight -= 1
        if shutdown.begun:
            response.force_close()
        return response
    return track


async def serve(app: web.Application, shutdown: Shutdown, settings: Settings, **server_args: Any) -> None:
    """Serves `app` on the settings' address until a stop signal, then stops as above.
    server_args go to the request handlers (the access log, the counter of rejections:
    parser_errors.py)."""
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, shutdown.on_signal, signum)
    runner = AppRunner(app, shutdown_timeout=settings.drain_timeout, **server_args)
    await runner.setup()  # opens the API client and starts the watch (app.kubernetes_ctx)
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        log.info("listening on http://%s:%d/ (namespace: %s)", settings.host, settings.port,
                 settings.namespace or "all")
        await shutdown.signalled()
        log.info("still serving for %.1f s (shutdown delay), every answer with Connection: close, "
                 "so the Service stops sending connections here", settings.shutdown_delay)
        await shutdown.delay(settings.shutdown_delay)
        log.info("no longer accepting connections; draining %d request(s) in flight for up to %.1f s",
                 shutdown.in_flight, settings.drain_timeout)
    finally:
        started = loop.time()
        await runner.cleanup()  # stop accepting, drain, cut off, then app cleanup
    if shutdown.cut_off:
        log.warning("stopped: %d request(s) were still running at the drain timeout and were cut off",
                    shutdown.cut_off)
    else:
        log.info("stopped %.1f s after it stopped accepting: every request answered", loop.time() - started)
