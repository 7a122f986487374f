"""dlws_client's pure parts: backoff and jitter bounds, Retry-After, and the status words
it shares with the shim without importing it."""
from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from api_shim import openapi
from dlws_client import STATUSES
from dlws_client.operations import ENDED
from dlws_client.retry import Backoff, retry_after_seconds
from dlws_contract import phases


def test_the_ceiling_grows_by_its_factor_up_to_its_cap() -> None:
    backoff = Backoff(first=0.25, factor=2.0, cap=8.0)
    assert [backoff.ceiling(n) for n in range(8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff.ceiling(10_000) == 8.0  # no overflow however long it has retried


def test_full_jitter_stays_between_zero_and_the_ceiling() -> None:
    backoff, rng = Backoff(), random.Random(19)
    for attempt in range(12):
        draws = [backoff.delay(attempt, rng.uniform) for _ in range(500)]
        ceiling = backoff.ceiling(attempt)
        assert all(0.0 <= d <= ceiling for d in draws)
        # Spread over the whole range, not bunched at one end.
        assert min(draws) < ceiling * 0.1 and max(draws) > ceiling * 0.9


def test_retry_after_is_a_floor_under_the_jitter() -> None:
    backoff, rng = Backoff(), random.Random(7)
    assert all(backoff.delay(a, rng.uniform, retry_after=3.0) >= 3.0 for a in range(10) for _ in range(50))
    assert backoff.delay(9, lambda low, high: high, retry_after=1.0) == 8.0  # a larger draw stands


def test_poll_intervals_stay_between_half_and_all_of_the_ceiling() -> None:
    backoff, rng = Backoff(first=0.2, cap=2.0), random.Random(3)
    for attempt in range(8):
        ceiling = backoff.ceiling(attempt)
        assert all(ceiling / 2 <= backoff.poll(attempt, rng.uniform) <= ceiling for _ in range(200))


@pytest.mark.parametrize(("value", "seconds"), [
    ("3", 3.0), (" 120 ", 120.0), ("0", 0.0),
    (formatdate(1_000_030.0, usegmt=True), 30.0),
    (formatdate(999_000.0, usegmt=True), 0.0),  # a date gone by: now
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None),
])
def test_retry_after_in_seconds_or_as_a_date(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=1_000_000.0) == seconds


def test_the_statuses_are_those_jobdetail_answers() -> None:
    answered = {phases.dlws_status(p) for p in (None, *phases.PHASES, "SomethingNew")} | {phases.KILLED_STATUS}
    assert set(STATUSES) == answered
    detail = openapi.document()["paths"]["/child/JobDetail"]["get"]["responses"]["200"]
    enum = detail["content"]["application/json"]["schema"]["oneOf"][0]["properties"]["jobStatus"]["enum"]
    assert set(STATUSES) == set(enum)


def test_the_ended_statuses_are_the_finished_phases_killing_and_error() -> None:
    assert ENDED == {phases.dlws_status(p) for p in (*phases.FINISHED_PHASES, phases.KILLING)} | {
        "error", phases.KILLED_STATUS}
