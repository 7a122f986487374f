"""Prometheus metrics of the shim, in a registry of its own (one per app).

No label carries a family digest or a job id: cardinality stays fixed, and nothing about
a family leaks to whoever scrapes /metrics.
"""
from __future__ import annotations

import time
from collections.abc import Collection

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from api_shim.job_index import JobIndex
from api_shim.replies import Reply


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dlws_shim_requests", "Requests by operation and outcome",
            ["op", "outcome"], registry=self.registry)
        self.latency = Histogram(
            "dlws_shim_request_seconds", "Time to answer a request, by operation", ["op"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry)
        self.limit_rejections = Counter(
            "dlws_shim_family_limit_rejections", "Requests refused by a family limit (requests, rate, live, depth)",
            ["limit"], registry=self.registry)
        self.parser_rejections = Counter(
            "dlws_shim_parser_rejections", "Requests refused by the HTTP parser (a line too long, "
            "too many headers, malformed), by status (parser_errors.py)",
            ["status"], registry=self.registry)
        self.callers = Counter(
            "dlws_shim_submit_callers", "SubmitJob calls by how the new job's parent was found: "
            "matched (the calling job, by its Pod's address), parent_given, no_pod (an address of "
            "no job Pod: outside the cluster, SNAT, a proxy), other_family, ambiguous, dying, "
            "lookup_off", ["attribution"], registry=self.registry)
        self.indexed_jobs = Gauge("dlws_shim_indexed_jobs", "DLWSJobs in the watch-fed index",
                                  registry=self.registry)
        self.index_synced = Gauge("dlws_shim_index_synced", "1 once the index has listed all jobs",
                                  registry=self.registry)

    def watch_index(self, index: JobIndex) -> None:
        """Read at scrape time, so the index needs no hooks."""
        self.indexed_jobs.set_function(lambda: float(len(index)))
        self.index_synced.set_function(lambda: 1.0 if index.synced else 0.0)

    def exposition(self) -> web.Response:
        return web.Response(body=generate_latest(self.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})


def operation_of(path: str, operations: Collection[str]) -> str:
    """SubmitJob for /child/SubmitJob, //SubmitJob...; "other" for anything else."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return last if last in operations else "other"


def metrics_middleware(metrics: Metrics, operations: Collection[str]) -> Middleware:
    """Counts and times the requests to each of `operations` (their names)."""
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        op = operation_of(request.path, operations)
        start = time.perf_counter()
        response = await handler(request)
        if op != "other":
            outcome = response.outcome if isinstance(response, Reply) else str(response.status)
            metrics.requests.labels(op, outcome).inc()
            metrics.latency.labels(op).observe(time.perf_counter() - start)
        return response
    return observe
