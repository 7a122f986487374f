"""Slow and oversized requests are cut off by limits, on the real HTTP server of the app
(raw sockets: a client library would not send this slowly or this badly)."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import BaseTestServer, TestServer

from api_shim.app import init_app
from api_shim.settings import Settings
from tests.memory_store import MemoryJobStore

READ_TIMEOUT = 0.5
# The server's timers run on the event loop; give them a generous margin on a busy machine.
CUT_OFF_WITHIN = READ_TIMEOUT + 3.0


@pytest.fixture
async def server() -> AsyncIterator[BaseTestServer]:
    store = MemoryJobStore()
    app = await init_app(Settings(read_timeout=READ_TIMEOUT, max_body=1024), store=store, index=store.index)
    async with TestServer(app) as srv:
        yield srv


async def trickle(server: BaseTestServer, head: bytes, drip: bytes, within: float) -> tuple[bytes, float]:
    """Sends `head`, then `drip` every 50 ms; returns what the server sent before it closed
    the connection (b"" if it closed without a word) and when, or fails after `within`."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    t0 = time.monotonic()
    writer.write(head)
    received = b""
    try:
        while time.monotonic() - t0 < within:
            try:
                writer.write(drip)
                await writer.drain()
                chunk = await asyncio.wait_for(reader.read(4096), 0.05)
            except TimeoutError:
                continue
            except ConnectionError:
                return received, time.monotonic() - t0
            if not chunk:
                return received, time.monotonic() - t0
            received += chunk
        raise AssertionError(f"connection still open after {within}s; received {received[:100]!r}")
    finally:
        writer.close()


async def test_headers_sent_slowly_are_cut_off(server: BaseTestServer) -> None:
    received, seconds = await trickle(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n",
                                      CUT_OFF_WITHIN)
    assert received == b"" and seconds >= READ_TIMEOUT * 0.9


async def test_a_body_sent_slowly_is_answered_408_json_and_the_connection_closed(server: BaseTestServer) -> None:
    head = (b"POST /child/SubmitJob HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{")
    received, seconds = await trickle(server, head, b" ", CUT_OFF_WITHIN)
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert "did not arrive" in body["error"]
    assert seconds >= READ_TIMEOUT * 0.9


async def test_a_client_that_leaves_mid_body_is_no_internal_error(
        server: BaseTestServer, caplog: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"POST /child/SubmitJob HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{")
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    # The server notices within its read timeout at the latest; then its log must hold
    # no "unexpected error" (a traceback) for what was only a client leaving.
    reader2, writer2 = await asyncio.open_connection(server.host, server.port)
    writer2.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await reader2.read()).startswith(b"HTTP/1.1 200")
    writer2.close()
    deadline = time.monotonic() + CUT_OFF_WITHIN
    while time.monotonic() < deadline and not any("Connection lost" in r.getMessage() or r.exc_info
                                                    for r in caplog.records):
        await asyncio.sleep(0.05)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("what, request_bytes, status", [
    ("a header line over 8190 bytes", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 400),
    ("over 128 headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: 1\r\n" % i for i in range(200)) + b"\r\n", 400),
    ("a request line over the body limit", b"GET /child/SubmitJob?cmd=" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("a body over the limit", b"POST /child/SubmitJob HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 5000\r\n\r\n" + b" " * 5000, 413),
])
async def test_oversized_requests_are_refused_without_an_error_of_ours(
        server: BaseTestServer, what: str, request_bytes: bytes, status: int) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request_bytes)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), CUT_OFF_WITHIN)
    writer.close()
    # (aiohttp's own parser answers malformed requests as HTTP/1.0, in plain text: they
    # never reach the application.)
    assert answer.split(b" ", 2)[1] == b"%d" % status, (what, answer[:200])
    assert b"Traceback" not in answer
