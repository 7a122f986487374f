"""The operator's shared state, typed: kopf's memo. main() makes it from the configuration,
start() adds the rest at kopf's start-up; kopf gives each job's handlers a shallow copy."""
import asyncio
import logging
import os
from dataclasses import dataclass, field


from dlws_operator.cleanup import Cleanup
from dlws_operator.event_poster import EventPoster
from dlws_operator.indexes import WatchedJobs
from dlws_operator.kopf_config import HandledJobs
from dlws_operator.pod_mirror import PodMirror, Reconcile
from dlws_contract.kube_api import Kube, core_path, new_api_client
from dlws_operator.config import OperatorConfig

# Connections to the API server at once: the library's default (100) lets a burst open a
# TLS connection per concurrent call, each with its own buffers.
API_POOL = 32

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Runtime:
    config: OperatorConfig
    namespaces: list[str]
    handled: HandledJobs = field(default_factory=HandledJobs)  # jobs kopf has handled
    # Made by start():
    kube: Kube = field(init=False)
    jobs: WatchedJobs = field(init=False)
    events: EventPoster = field(init=False)
    pods: PodMirror = field(init=False)
    cleanup: Cleanup = field(init=False)  # ended families and kill records, deleted in time
    starts: asyncio.Semaphore = field(init=False)  # job starts at once: see OperatorConfig
    # The job watch, the pod mirror and the event poster, which run beside kopf for the
    # operator's life.
    background: asyncio.Task[None] | None = None

    async def start(self, reconcile: Reconcile) -> None:
        self.kube = Kube(await new_api_client(os.environ.get("KUBECONFIG"), pool=API_POOL),
                         self.config.request_timeout)
        self.jobs = WatchedJobs(self.kube.api, namespaces=self.namespaces,
                                request_timeout=self.config.request_timeout)
        self.events = EventPoster(self._post_event)
        self.pods = PodMirror(self.kube.api, self.jobs, namespaces=self.namespaces,
                              request_timeout=self.config.request_timeout)
        self.starts = asyncio.Semaphore(self.config.concurrent_starts)
        self.cleanup = Cleanup(self.kube.api, self.kube, self.jobs, default_ttl=self.config.ttl_seconds_after_finished,
                               namespaces=self.namespaces, request_timeout=self.config.request_timeout)
        self.background = asyncio.create_task(self._beside_kopf(reconcile), name="pod-mirror")

    async def _post_event(self, event: dict[str, object]) -> None:
        namespace = str(event["metadata"]["namespace"])  # type: ignore[index]
        await self.kube.request("POST", core_path(namespace, "events"), body=event)

    async def _beside_kopf(self, reconcile: Reconcile) -> None:
        async with asyncio.TaskGroup() as group:  # if one stops, both do (app.pod_mirror_running)
            group.create_task(self.jobs.run())
            group.create_task(self.pods.run(reconcile))
            group.create_task(self.events.run())
            group.create_task(self.cleanup.run())

    async def stop(self) -> None:
        if self.background is not None:
            self.background.cancel()
            try:
                await self.background
            except asyncio.CancelledError:
                pass
            except Exception:  # noqa: BLE001  # kopf would retry this cleanup every minute, forever
                logger.exception("the pod mirror or the event poster had failed before shutdown")
            await self.kube.api.close()  # type: ignore[no-untyped-call]
