"""The operator's Events are posted in the background: callers never wait, a few are in
flight at once, in order, and a failed or refused post is logged, never raised."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from kubernetes.aio.client.exceptions import ApiException

from dlws_operator import metrics
from dlws_operator.event_poster import EventPoster
from dlws_operator.events import Event


def event(n: int) -> Event:
    return {"reason": f"R{n}", "involvedObject": {"namespace": "ns", "name": f"job-{n}"}}


@asynccontextmanager
async def running(poster: EventPoster) -> AsyncIterator[None]:
    task = asyncio.create_task(poster.run())
    try:
        yield
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def settle(done: Callable[[], bool]) -> None:
    for _ in range(200):
        if done():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


async def test_post_never_waits_and_events_go_out_in_order() -> None:
    sent: list[str] = []

    async def send(e: Event) -> None:
        await asyncio.sleep(0.001)
        sent.append(e["reason"])

    poster = EventPoster(send, posters=1)
    for n in range(5):
        poster.post(event(n))  # no poster is running yet: nothing blocks
    assert poster.waiting() == 5
    async with running(poster):
        await settle(lambda: len(sent) == 5)
    assert sent == [f"R{n}" for n in range(5)]


async def test_at_most_posters_are_in_flight() -> None:
    in_flight, peak = 0, 0
    release = asyncio.Event()

    async def send(e: Event) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1

    poster = EventPoster(send, posters=2)
    for n in range(10):
        poster.post(event(n))
    async with running(poster):
        # Every poster starts in the same turn of the loop and takes an Event at once: a
        # third would be in flight by now.
        await settle(lambda: in_flight == 2)
        assert peak == 2 and poster.waiting() == 8
        release.set()
        await settle(lambda: poster.waiting() == 0 and in_flight == 0)
    assert peak == 2


def failing(exc: Exception) -> Callable[[Event], Coroutine[Any, Any, None]]:
    async def send(e: Event) -> None:
        raise exc
    return send


async def test_a_failed_post_is_logged_and_the_next_ones_still_go_out(caplog: pytest.LogCaptureFixture) -> None:
    sent: list[str] = []

    async def send(e: Event) -> None:
        if e["reason"] == "R0":
            raise ApiException(status=500, reason="boom")
        sent.append(e["reason"])

    poster = EventPoster(send, posters=1)
    poster.post(event(0))
    poster.post(event(1))
    with caplog.at_level(logging.WARNING):
        async with running(poster):
            await settle(lambda: sent == ["R1"])
    assert "posting event R0 for job ns/job-0 failed: HTTP 500" in caplog.text


async def test_a_terminating_namespace_is_not_worth_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    refused = ApiException(status=403, reason="Forbidden")
    refused.body = '{"reason": "Forbidden", "details": {"causes": [{"reason": "NamespaceTerminating"}]}}'
    sent: list[str] = []

    async def send(e: Event) -> None:
        if e["reason"] == "R0":
            raise refused
        sent.append(e["reason"])

    poster = EventPoster(send, posters=1)
    poster.post(event(0))
    poster.post(event(1))
    with caplog.at_level(logging.WARNING):
        async with running(poster):
            # One poster, in order: R1 out means R0's failure was handled (and not logged).
            await settle(lambda: sent == ["R1"])
    assert "posting event" not in caplog.text


async def test_past_the_limit_events_are_dropped_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    before = metrics.EVENTS_DROPPED._value.get()
    poster = EventPoster(failing(RuntimeError()), posters=1, limit=2)
    with caplog.at_level(logging.WARNING):
        for n in range(5):
            poster.post(event(n))
    assert poster.waiting() == 2
    assert metrics.EVENTS_DROPPED._value.get() - before == 3
    assert caplog.text.count("dropping new ones") == 1
