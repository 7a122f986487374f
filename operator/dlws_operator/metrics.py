"""Prometheus metrics of the operator, served by prometheus-client on their own port."""
import functools
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dlws_contract import phases
from dlws_operator.kopf_config import WaitingForRoom

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

PODS_CREATED = Counter("dlws_operator_pods_created_total", "Pods created for DLWSJobs")
FAMILIES_CREATED = Counter("dlws_operator_families_created_total", "Family tokens made for root DLWSJobs")
EVENTS_DROPPED = Counter("dlws_operator_events_dropped_total",
                         "Events not posted because too many were waiting (event_poster.py)")
RECONCILE_ERRORS = Counter("dlws_operator_reconcile_errors_total", "Handler runs that raised", ["handler"])
PODS_REFUSED = Counter(
    "dlws_operator_pods_refused_total",
    "Pod creates the namespace refused (refusals.py), by reason: ExceededQuota and "
    "PriorityClassNotFound are tried again, ExceededLimitRange fails the job", ["reason"])
PODS_WITHHELD = Counter(
    "dlws_operator_pods_withheld_total",
    "Pods not made because their job or a job above it was being killed or gone (ancestry.py), "
    "by who said so: the job watch or the API server", ["by"])
POD_CREATE_WINDOW = Histogram(
    "dlws_operator_pod_create_window_seconds",
    "From the check that a job's chain is alive to its Pod created: a kill in this time "
    "still comes before the Pod (an upper bound: it includes both round trips)",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5))
TIME_TO_POD_IP = Histogram(
    "dlws_operator_time_to_pod_ip_seconds", "From DLWSJob creation to its pod IP in status",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))


class JobPhases(Collector):
    """The phase of every live job the operator has seen, counted at scrape time (so a
    deleted job simply drops out, with no gauge to keep in step)."""

    def __init__(self) -> None:
        self.by_uid: dict[str, str] = {}

    def set(self, uid: str, phase: str) -> str | None:
        previous = self.by_uid.get(uid)
        self.by_uid[uid] = phase
        return previous

    def forget(self, uid: str) -> None:
        self.by_uid.pop(uid, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("dlws_operator_jobs", "Live DLWSJobs by phase", labels=["phase"])
        tally = Tally(self.by_uid.values())
        for phase in phases.PHASES:
            family.add_metric([phase], tally.get(phase, 0))
        yield family


JOB_PHASES = JobPhases()
REGISTRY.register(JOB_PHASES)


def count_errors(handler: str) -> Callable[[F], F]:
    """Counts a handler's failures in RECONCILE_ERRORS (kopf still logs and retries them).
    A job waiting for quota is not a failure: it is counted in PODS_REFUSED."""
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except WaitingForRoom:
                raise  # a job waiting for quota (lifecycle.wait_for_quota), not a failure
            except Exception:
                RECONCILE_ERRORS.labels(handler).inc()
                raise
        return wrapper  # type: ignore[return-value]
    return decorate
