"""The application factory: routes, middlewares, and the long-lived clients."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from api_shim.admission import Admission
from api_shim.callers import Callers
from api_shim.errors import error_middleware
from api_shim.index_watch import index_watcher
from api_shim.job_index import JobIndex
from api_shim.keys import ADMISSION, CALLERS, INDEX, KILLS, METRICS, SETTINGS, SHUTDOWN, STORE
from api_shim.kill_index import KillIndex, kill_watcher
from api_shim.kube_store import KubeJobStore
from api_shim.limits import FamilyLimits
from api_shim.metrics import Metrics, metrics_middleware
from api_shim.pod_index import PodIndex, pod_watcher
from api_shim.routes import OPERATIONS, setup_routes
from api_shim.settings import Settings
from api_shim.shutdown import Shutdown, serve, shutdown_middleware
from api_shim.store import JobStore
from dlws_contract.kube_api import Kube, new_api_client


async def kubernetes_ctx(app: web.Application) -> AsyncIterator[None]:
    """One API client for the life of the app, and the watches that feed the indexes."""
    settings, index, pods = app[SETTINGS], app[INDEX], app[CALLERS].pods
    api = await new_api_client(settings.kubeconfig)
    try:
        app[STORE] = KubeJobStore(Kube(api, settings.k8s_timeout))
        watches = [index_watcher(api, index, namespace=settings.namespace, request_timeout=settings.k8s_timeout).run(),
                   kill_watcher(api, app[KILLS], namespace=settings.namespace,
                                request_timeout=settings.k8s_timeout).run()]
        if pods is not None:
            watches.append(pod_watcher(api, pods, namespace=settings.namespace,
                                       request_timeout=settings.k8s_timeout).run())
        tasks = [asyncio.create_task(watch) for watch in watches]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        await api.close()  # type: ignore[no-untyped-call]


async def init_app(settings: Settings, *, store: JobStore | None = None,
                   index: JobIndex | None = None, pods: PodIndex | None = None,
                   kills: KillIndex | None = None) -> web.Application:
    """The shim. Without `store`, it talks to the cluster the settings name and watches
    feed the indexes; tests of the HTTP layer pass an in-memory store and the index it
    feeds instead, and the Pods they mean to call from (none by default)."""
    metrics = Metrics()
    shutdown = Shutdown()
    # Shutdown outermost, so every answer closes its connection once shutdown has begun;
    # then metrics, so it sees the JSON the error middleware made of any failure.
    app = web.Application(
        client_max_size=settings.max_body,
        # The samples send everything in the query: a long cmd must reach the parameter
        # checks (a JSON error), not aiohttp's plain-text 400 for a long request line.
        handler_args={
            "max_line_size": settings.max_body,
            # A request head must arrive within keepalive_timeout (slow-loris); the body has
            # its own deadline (params.py), and what is left of an unread body is dropped.
            "keepalive_timeout": settings.read_timeout,
            "lingering_time": 0,
        },
        middlewares=[shutdown_middleware(shutdown), metrics_middleware(metrics, OPERATIONS),
                     error_middleware])
    app[SETTINGS] = settings
    app[SHUTDOWN] = shutdown
    app[METRICS] = metrics
    app[ADMISSION] = Admission(FamilyLimits.from_settings(settings), metrics.limit_rejections)
    app[INDEX] = JobIndex() if index is None else index
    app[KILLS] = kills if kills is not None else KillIndex()
    if store is not None and kills is None:
        app[KILLS].synced = True  # an in-memory store without kill records
    if pods is None and settings.caller_lookup:
        pods = PodIndex()
        pods.synced = store is not None  # no Pods to watch beside an in-memory store
    app[CALLERS] = Callers(pods if settings.caller_lookup else None,
                           trusted_proxies=settings.trusted_proxy_networks,
                           wait=settings.caller_wait, counter=metrics.callers)
    metrics.watch_index(app[INDEX])
    if store is None:
        app.cleanup_ctx.append(kubernetes_ctx)
    else:
        app[STORE] = store
    setup_routes(app)
    return app


async def serve_app(app: web.Application, **server_args: Any) -> None:
    """Serves an app of init_app until a stop signal has run its course (shutdown.py).
    server_args go to the request handlers (the access log)."""
    await serve(app, app[SHUTDOWN], app[SETTINGS], rejections=app[METRICS].parser_rejections, **server_args)
