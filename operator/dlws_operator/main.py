"""Entry point: configures kopf for production and runs it. Handlers live in their modules."""
import argparse
import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any

import kopf
from prometheus_client import start_http_server

from dlws_contract import resource
from dlws_operator import handlers, indexes, kopf_patches, pod_events, tls_buffers  # noqa: F401  (registers the handlers)
from dlws_operator.event_poster import EventPoster
from dlws_operator.kopf_storage import HandledJobs, ProgressAnnotations
from dlws_operator.kube import Kube, new_api_client
from dlws_operator.settings import OperatorSettings

STORAGE_PREFIX = f"operator.{resource.GROUP}"
logger = logging.getLogger(__name__)


# kopf passes indexes as keyword arguments its handler protocols do not list.
@kopf.on.startup()  # type: ignore[arg-type]
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, job_index: kopf.Index[Any, Any],
                    **_: Any) -> None:
    # What kopf keeps on each job: nothing once its handlers succeed (kopf_storage.py).
    # Progress annotations, while a handler retries, live in our own domain.
    settings.persistence.progress_storage = ProgressAnnotations(prefix=STORAGE_PREFIX)
    memo["handled"] = settings.persistence.diffbase_storage = HandledJobs()
    settings.persistence.finalizer = f"{STORAGE_PREFIX}/finalizer"  # never added: no delete handlers
    # Watches end server-side every few minutes and are resumed, so a silently dropped
    # connection is noticed; API calls time out instead of hanging a handler.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    settings.networking.request_timeout = 30
    settings.networking.connect_timeout = 10
    # kopf turns its per-object log lines at this level into Events; at INFO that is
    # several "Handler ... succeeded" Events per job. Warnings and errors only: the
    # Events worth reading (family made, pod made, running, killed) are posted explicitly.
    settings.posting.level = logging.WARNING
    operator_settings: OperatorSettings = memo["settings"]
    api = await new_api_client()
    kube = Kube(api, operator_settings.request_timeout)
    memo["starts"] = asyncio.Semaphore(operator_settings.concurrent_starts)
    memo["kube"] = kube
    memo["events"] = events = EventPoster(kube.post_event)
    # The pod mirror and the event poster run beside kopf, not in it (see pod_events.py),
    # for the operator's life; if either stops, both do and the liveness probe fails.
    mirror = pod_events.PodMirror(kube, job_index, events, namespaces=memo["namespaces"],
                                  request_timeout=operator_settings.request_timeout)
    memo["pods"] = mirror
    memo["pods_task"] = asyncio.create_task(run_together(mirror.run(), events.run()), name="pod-mirror")


async def run_together(*runs: Coroutine[Any, Any, None]) -> None:
    async with asyncio.TaskGroup() as group:
        for run in runs:
            group.create_task(run)


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod, the ServiceAccount; elsewhere the kubeconfig named by --kubeconfig.

    kopf's default login goes through the kubernetes library, which reads $KUBECONFIG
    once at import, before --kubeconfig is parsed; these read it when called.
    """
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return kopf.login_with_service_account(**kwargs)
    return kopf.login_with_kubeconfig(**kwargs)


@kopf.on.cleanup()
async def close_client(memo: kopf.Memo, **_: Any) -> None:
    task: asyncio.Task[None] | None = memo.get("pods_task")
    if task is not None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001  # kopf would retry this cleanup every minute, forever
            logger.exception("the pod mirror or the event poster had failed before shutdown")
    kube: Kube | None = memo.get("kube")
    if kube is not None:
        await kube.api.close()  # type: ignore[no-untyped-call]


@kopf.on.probe(id="kube")
async def kube_client_open(memo: kopf.Memo, **_: Any) -> bool:
    return "kube" in memo


@kopf.on.probe(id="pod_mirror")
async def pod_mirror_running(memo: kopf.Memo, **_: Any) -> bool:
    """The pod mirror and the event poster run beside kopf, so kopf would not notice them
    stop. They never end on their own; if they have, the liveness endpoint fails and
    Kubernetes restarts us."""
    task: asyncio.Task[None] | None = memo.get("pods_task")
    if task is not None and task.done():
        raise kopf.PermanentError("the pod mirror or the event poster has stopped; "
                                  "job status or Events are no longer written")
    return task is not None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dlws-operator", description=__doc__)
    parser.add_argument("--namespace", "-n", action="append", default=[],
                        help="watch only this namespace (repeatable); default: the whole cluster")
    parser.add_argument("--liveness", default="http://0.0.0.0:8080/healthz",
                        help="liveness endpoint URL (default %(default)s)")
    parser.add_argument("--metrics-port", type=int, default=9090, help="Prometheus metrics port; 0 disables")
    parser.add_argument("--metrics-host", default="0.0.0.0")
    parser.add_argument("--kubeconfig", help="kubeconfig file; default: in-cluster config in a pod, "
                        "else $KUBECONFIG or ~/.kube/config")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="debug logs, and kopf's per-job INFO lines (\"Handler ... succeeded\")")
    args = parser.parse_args(argv)
    try:  # here, not in a kopf startup handler, which would retry a bad value forever
        operator_settings = OperatorSettings.from_env()
    except ValueError as exc:
        parser.error(str(exc))
    if args.kubeconfig:
        # Both kopf's own login and our kubernetes.aio client read it from here.
        os.environ["KUBECONFIG"] = args.kubeconfig
    kopf.configure(verbose=args.verbose)
    if not args.verbose:
        # kopf logs two or three INFO lines per job event ("Handler 'mark_killing'
        # succeeded."): thousands a second in a burst or a kill, and 5 % of the operator's
        # CPU during a 1,000-job kill (py-spy). Its warnings and errors still show.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    kopf_patches.apply()
    tls_buffers.apply()
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.metrics_host)
    kopf.run(
        # One replica (Deployment strategy Recreate): no peering objects are needed.
        standalone=True,
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        liveness_endpoint=args.liveness,
        memo=kopf.Memo(namespaces=args.namespace, settings=operator_settings),
    )


if __name__ == "__main__":
    main()
