"""Prometheus metrics of the operator, served by prometheus-client on their own port."""
from prometheus_client import Counter, Gauge, Histogram

PODS_CREATED = Counter("dlws_operator_pods_created_total", "Pods created for DLWSJobs")
FAMILIES_CREATED = Counter("dlws_operator_families_created_total", "Family tokens made for root DLWSJobs")
RECONCILE_ERRORS = Counter("dlws_operator_reconcile_errors_total", "Handler runs that raised", ["handler"])
JOBS_BY_PHASE = Gauge("dlws_operator_jobs", "DLWSJobs seen by the operator, by phase", ["phase"])
TIME_TO_POD_IP = Histogram(
    "dlws_operator_time_to_pod_ip_seconds", "From DLWSJob creation to its pod IP in status",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))


def record_phase(previous: str | None, new: str) -> None:
    if previous is not None:
        JOBS_BY_PHASE.labels(previous).dec()
    JOBS_BY_PHASE.labels(new).inc()
