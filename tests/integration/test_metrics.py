"""Both processes expose Prometheus metrics, and the series move when a job is submitted."""
import urllib.request
from typing import Any

import pytest
from kubernetes.aio import client
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_operator_and_shim_series_move_after_a_submission(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any, http: Any) -> None:
    root = await make_root(api, namespace)
    op_url, shim_url = operator.metrics_url, shim.url + "metrics"
    op_before, shim_before = scrape(op_url), scrape(shim_url)

    child = (await ShimClient(http, shim.url).submit(root.token))["jobId"]
    await Jobs(api, namespace).running_with_ip(child)

    # The operator records the pod-IP time just after the status patch a test sees.
    async def recorded() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        samples = scrape(op_url)
        moved = value(samples, "dlws_operator_time_to_pod_ip_seconds_count") > \
            value(op_before, "dlws_operator_time_to_pod_ip_seconds_count")
        return samples if moved else None

    op_after = await eventually(recorded, timeout=30, what="the operator's pod-IP timing")
    shim_after = scrape(shim_url)

    assert value(shim_after, "dlws_shim_requests_total", op="SubmitJob", outcome="ok") == \
        value(shim_before, "dlws_shim_requests_total", op="SubmitJob", outcome="ok") + 1
    assert value(shim_after, "dlws_shim_request_seconds_count", op="SubmitJob") > \
        value(shim_before, "dlws_shim_request_seconds_count", op="SubmitJob")
    assert value(op_after, "dlws_operator_pods_created_total") > value(op_before, "dlws_operator_pods_created_total")
    assert value(op_after, "dlws_operator_jobs", phase="Running") >= 2  # the root and the child

