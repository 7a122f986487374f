"""A Pod the namespace refuses: which refusals wait (and how long between tries), which fail
the job, and what the operator's configuration for resources accepts."""
import json
import logging

import pytest
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract.kube_api import server_message
from dlws_operator.kopf_config import WAITING_MARK, QuietWaits
from dlws_operator.refusals import Refusal, pod_refusal, retry_delay
from dlws_operator.config import OperatorConfig


def forbidden(message: str, status: int = 403) -> ApiException:
    exc = ApiException(status=status, reason="Forbidden")
    exc.body = json.dumps({"kind": "Status", "status": "Failure", "reason": "Forbidden", "message": message})
    return exc


def refusal_of(exc: ApiException) -> Refusal | None:
    """What lifecycle.start_job reads of a failed Pod create."""
    return pod_refusal(exc.status, server_message(exc))


QUOTA = ('pods "j" is forbidden: exceeded quota: q, requested: requests.cpu=500m, '
         'used: requests.cpu=0, limited: requests.cpu=100m')


def test_exceeded_quota_waits_with_the_api_servers_message() -> None:
    refusal = refusal_of(forbidden(QUOTA))
    assert refusal is not None and (refusal.reason, refusal.message, refusal.waits) == ("ExceededQuota", QUOTA, True)


def test_a_missing_priority_class_waits() -> None:
    refusal = refusal_of(forbidden('pods "j" is forbidden: no PriorityClass with name dlws-preemptible was found'))
    assert refusal is not None and (refusal.reason, refusal.waits) == ("PriorityClassNotFound", True)


@pytest.mark.parametrize("message", [
    'pods "j" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
    'pods "j" is forbidden: minimum memory usage per Pod is 64Mi, but request is 32M',
    'pods "j" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000'])
def test_a_limit_range_refusal_fails_the_job(message: str) -> None:
    refusal = refusal_of(forbidden(message))
    assert refusal is not None and (refusal.reason, refusal.waits) == ("ExceededLimitRange", False)


@pytest.mark.parametrize("exc", [
    forbidden('pods is forbidden: User "system:serviceaccount:dlws-system:dlws-operator" cannot create resource'),
    forbidden(QUOTA, status=500), forbidden("conflict", status=409)])
def test_other_failures_are_not_refusals(exc: ApiException) -> None:
    assert refusal_of(exc) is None


def test_retries_back_off_to_a_bound() -> None:
    assert [retry_delay(n, 30.0) for n in range(6)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert retry_delay(10_000, 30.0) == 30.0


def test_kopfs_lines_for_a_waiting_job_are_dropped_and_others_kept() -> None:
    def record(text: str) -> logging.LogRecord:
        return logging.LogRecord("kopf.objects", logging.ERROR, __file__, 1, text, None, None)
    quiet = QuietWaits()
    assert not quiet.filter(record(f"Handler 'run_job' failed temporarily: {WAITING_MARK} ExceededQuota"))
    assert quiet.filter(record("Handler 'run_job' failed temporarily: (500) Internal Server Error"))


def test_resource_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = OperatorConfig.from_env()
    assert (defaults.resource_defaults.cpurequest, defaults.resource_defaults.memorylimit) == ("500m", "2560M")
    assert (defaults.gpu_type_label, defaults.gpu_types) == ("gpuType", frozenset())
    assert (defaults.priority_class, defaults.preemptible_class) == ("dlws-non-preemptible", "dlws-preemptible")
    monkeypatch.setenv("DLWS_OPERATOR_DEFAULT_CPUREQUEST", "10m")
    monkeypatch.setenv("DLWS_OPERATOR_GPU_TYPE_LABEL", "nvidia.com/gpu.product")
    monkeypatch.setenv("DLWS_OPERATOR_GPU_TYPES", "P40, V100")
    monkeypatch.setenv("DLWS_OPERATOR_PRIORITY_CLASS", "")
    got = OperatorConfig.from_env()
    assert got.resource_defaults.cpurequest == "10m" and got.resource_defaults.cpulimit == "500m"
    assert (got.gpu_type_label, got.gpu_types, got.priority_class) == ("nvidia.com/gpu.product", {"P40", "V100"}, "")


@pytest.mark.parametrize("name, value", [
    ("DLWS_OPERATOR_DEFAULT_CPUREQUEST", "1"),  # above the default limit, 500m
    ("DLWS_OPERATOR_DEFAULT_MEMORYLIMIT", "lots"),
    ("DLWS_OPERATOR_GPU_TYPE_LABEL", "not a label"),
    ("DLWS_OPERATOR_GPU_TYPES", "P40,bad type"),
    ("DLWS_OPERATOR_PREEMPTIBLE_CLASS", "Upper"),
    ("DLWS_OPERATOR_QUOTA_RETRY_MAX", "0"),
])
def test_bad_resource_config_is_refused_by_name(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name.rsplit("_", 1)[0] if "DEFAULT" in name else name):
        OperatorConfig.from_env()
