"""How the shim stops behind a Service (api_shim/shutdown.py): the real process
(api_shim.main.run, on the in-memory store: tests/memory_shim.py), a real signal, real
connections. tests/integration/test_shim_shutdown.py does the same against a real API server.

On SIGTERM: /readyz fails at once, requests are still served for the shutdown delay (each
answer closing its connection), then no new connection is accepted, the requests in flight
finish and are answered, and the process exits 0 within delay + drain timeout.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from devcluster.ports import free_ports
from dlws_contract import tokens
from tests.connections import refused
from tests.memory_shim import CREATE_BEGAN, ROOT

REPO = Path(__file__).parents[2]
TOKEN = tokens.new_token()
JOB = {"jobName": "child", "resourcegpu": "0", "dataPath": "d", "image": "busybox", "jobType": "training"}

DELAY, DRAIN = 2.0, 5.0
CREATE_SECONDS = 4.0  # a SubmitJob sent before SIGTERM is still in flight when the delay ends
MARGIN = 2.0          # start-up of asyncio's shutdown, on a busy machine


class ShimProcess:
    """python -m tests.memory_shim with `flags`; its log in log_path."""

    def __init__(self, log_path: Path, *flags: str, create_seconds: float = 0.0) -> None:
        [port] = free_ports(1)
        self.url = f"http://127.0.0.1:{port}/"
        self.log_path = log_path
        env = {**os.environ, "DLWS_TEST_FAMILY_DIGEST": tokens.family_digest(TOKEN),
               "DLWS_TEST_CREATE_SECONDS": str(create_seconds)}
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.memory_shim", "--port", str(port), *flags],
                                         cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait(lambda: self._ready(), "ready", 60)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "readyz", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def _wait(self, condition: Any, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, f"the shim exited before {what}:\n{self.log()}"
            assert time.monotonic() < deadline, f"the shim was not {what} within {timeout}s:\n{self.log()}"
            time.sleep(0.05)

    async def logged(self, text: str, timeout: float = 10.0) -> None:
        await asyncio.to_thread(self._wait, lambda: text in self.log(), f"logging {text!r}", timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def exit_code(self, timeout: float) -> int | None:
        try:
            return await asyncio.to_thread(self.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def submit(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    # POST: aiohttp's client sends a GET again on a new connection when the server closes
    # the first one without an answer.
    async with http.post(url + "child/SubmitJob", json={**JOB, "familyToken": TOKEN}) as resp:
        return resp.status, await resp.json()


@dataclass
class Stop:
    """What was seen around one SIGTERM: times in seconds after it."""
    readyz_503_after: float
    readyz_body: dict[str, Any]
    healthz_status: int
    during_delay: tuple[int, str | None]  # JobDetail's status and Connection header
    accepting_stopped_after: float  # when the log said so
    refused_after_delay: bool
    in_flight_submit: tuple[int, dict[str, Any]]
    submit_answered_after: float
    exit_code: int | None
    exited_after: float
    log: str


@pytest.fixture(scope="module")
def stopping_shim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShimProcess]:
    shim = ShimProcess(tmp_path_factory.mktemp("shutdown") / "shim.log",
                       "--shutdown-delay", str(DELAY), "--drain-timeout", str(DRAIN),
                       create_seconds=CREATE_SECONDS)
    yield shim
    shim.kill()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stop(stopping_shim: ShimProcess) -> AsyncIterator[Stop]:
    """One SIGTERM, with a slow SubmitJob in flight, and what each step showed."""
    shim, url = stopping_shim, stopping_shim.url
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        submitting = asyncio.create_task(submit(http, url))
        await shim.logged(CREATE_BEGAN)
        t0 = time.monotonic()
        shim.proc.send_signal(signal.SIGTERM)

        while True:
            async with http.get(url + "readyz") as resp:
                if resp.status == 503:
                    readyz_503_after, readyz_body = time.monotonic() - t0, await resp.json()
                    break
            assert time.monotonic() - t0 < DELAY, "readyz still 200 at the end of the delay"
            await asyncio.sleep(0.05)
        async with http.get(url + "healthz") as resp:
            healthz_status = resp.status
        async with http.get(url + "child/JobDetail", params={"jobId": ROOT, "familyToken": TOKEN}) as resp:
            during_delay = resp.status, resp.headers.get("Connection")
        assert time.monotonic() - t0 < DELAY, "the requests meant for the delay came after it"

        # The shim logs this as it closes its listening socket, in the same step.
        await shim.logged("no longer accepting connections")
        accepting_stopped_after = time.monotonic() - t0
        assert not submitting.done(), "the slow SubmitJob ended before the drain: make CREATE_SECONDS longer"
        refused_after_delay = await refused(url)
        in_flight_submit = await submitting
        submit_answered_after = time.monotonic() - t0
        code = await shim.exit_code(DELAY + DRAIN + MARGIN - (time.monotonic() - t0))
        yield Stop(readyz_503_after, readyz_body, healthz_status, during_delay, accepting_stopped_after,
                   refused_after_delay,
                   in_flight_submit, submit_answered_after, code, time.monotonic() - t0, shim.log())


async def test_readyz_answers_503_within_a_second_of_sigterm(stop: Stop) -> None:
    assert stop.readyz_503_after < 1.0
    assert stop.readyz_body == {"status": "shutting down"}


async def test_healthz_stays_ok_while_shutting_down(stop: Stop) -> None:
    assert stop.healthz_status == 200


async def test_a_request_during_the_delay_is_served_and_closes_its_connection(stop: Stop) -> None:
    assert stop.during_delay == (200, "close")


async def test_no_connection_is_accepted_after_the_delay(stop: Stop) -> None:
    assert stop.accepting_stopped_after >= DELAY  # not before it
    assert stop.refused_after_delay


async def test_a_submit_in_flight_at_sigterm_finishes_and_is_answered(stop: Stop) -> None:
    status, body = stop.in_flight_submit
    assert status == 200 and set(body) == {"jobId"}
    assert stop.submit_answered_after > DELAY  # answered during the drain, after accepting stopped


async def test_the_process_exits_0_within_delay_plus_drain(stop: Stop) -> None:
    assert stop.exit_code == 0, stop.log
    assert stop.exited_after < DELAY + DRAIN + MARGIN


async def test_each_step_is_logged_and_no_token(stop: Stop) -> None:
    for step in ("SIGTERM received", f"still serving for {DELAY:.1f} s", "no longer accepting connections",
                 "every request answered"):
        assert step in stop.log
    assert TOKEN not in stop.log


async def test_sigint_starts_the_same_shutdown_and_a_second_one_ends_the_delay(tmp_path: Path) -> None:
    shim = ShimProcess(tmp_path / "shim.log", "--shutdown-delay", "60", "--drain-timeout", "5")
    try:
        shim.proc.send_signal(signal.SIGINT)
        await shim.logged("SIGINT received")
        async with aiohttp.ClientSession() as http, http.get(shim.url + "readyz") as resp:
            assert resp.status == 503
        shim.proc.send_signal(signal.SIGINT)
        assert await shim.exit_code(MARGIN + 3) == 0, shim.log()
        assert "SIGINT again: ending the shutdown delay now" in shim.log()
    finally:
        shim.kill()


async def test_a_request_still_running_at_the_drain_timeout_is_cut_off_and_the_exit_is_0(tmp_path: Path) -> None:
    shim = ShimProcess(tmp_path / "shim.log", "--shutdown-delay", "0.5", "--drain-timeout", "1",
                       create_seconds=60)
    try:
        async with aiohttp.ClientSession() as http:
            submitting = asyncio.create_task(submit(http, shim.url))
            await shim.logged(CREATE_BEGAN)
            shim.proc.send_signal(signal.SIGTERM)
            assert await shim.exit_code(0.5 + 1 + MARGIN + 2) == 0, shim.log()
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await submitting
        assert "1 request(s) were still running at the drain timeout and were cut off" in shim.log()
    finally:
        shim.kill()
