"""Event handlers retry transient API failures (kopf would drop the event) and nothing else."""
from __future__ import annotations

import aiohttp
import pytest
from kubernetes.aio.client.exceptions import ApiException

from dlws_operator.retry import retry_transient, transient


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def failing(times: int, error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    async def handler() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"
    return calls, handler


@pytest.mark.parametrize("error", [
    ApiException(status=500), ApiException(status=503), ApiException(status=429),
    ApiException(status=403), aiohttp.ServerDisconnectedError(), TimeoutError(),
    ConnectionRefusedError(),
])
def test_api_restarts_and_overload_are_transient(error: Exception) -> None:
    assert transient(error)


@pytest.mark.parametrize("error", [ApiException(status=404), ApiException(status=422), ValueError("bug")])
def test_answers_that_will_not_change_are_not_transient(error: Exception) -> None:
    assert not transient(error)


def test_a_namespace_being_deleted_is_not_transient() -> None:
    error = ApiException(status=403)
    error.body = '{"reason": "Forbidden", "details": {"causes": [{"reason": "NamespaceTerminating"}]}}'
    assert not transient(error)


async def test_a_transient_failure_is_retried_with_backoff_until_it_succeeds() -> None:
    time = FakeTime()
    calls, handler = failing(4, aiohttp.ServerDisconnectedError())
    wrapped = retry_transient("test", sleep=time.sleep, clock=time.clock)(handler)  # type: ignore[type-var]
    assert await wrapped() == "done"
    assert len(calls) == 5 and time.slept == [0.5, 1.0, 2.0, 4.0]


async def test_a_lasting_failure_is_raised_after_the_retry_period() -> None:
    time = FakeTime()
    calls, handler = failing(10_000, ApiException(status=503))
    wrapped = retry_transient("test", retry_for=60, sleep=time.sleep, clock=time.clock)(handler)  # type: ignore[type-var]
    with pytest.raises(ApiException):
        await wrapped()
    assert time.now <= 60 and max(time.slept) == 15.0


async def test_other_failures_are_raised_at_once() -> None:
    time = FakeTime()
    calls, handler = failing(1, ValueError("bug"))
    wrapped = retry_transient("test", sleep=time.sleep, clock=time.clock)(handler)  # type: ignore[type-var]
    with pytest.raises(ValueError):
        await wrapped()
    assert len(calls) == 1 and time.slept == []
