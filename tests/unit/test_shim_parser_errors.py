"""Requests that aiohttp's HTTP parser refuses get the API's JSON error shape
(api_shim/parser_errors.py), from the real server: api_shim.main.run on the in-memory
store, a real socket, raw bytes (a client library would not send these).

Each answer has the right status, {"error": <fixed message>}, Connection: close, and
nothing of the request, the family token least of all; the log holds one line of it, no
ERROR, no traceback, nothing of the request; and the next connection is served as before.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from prometheus_client import Counter

from api_shim import main as shim_main
from api_shim.parser_errors import AppRunner, refusal
from api_shim.settings import Settings
from api_shim.shutdown import STOP_SIGNALS
from devcluster.ports import free_ports
from dlws_contract import tokens
from tests.memory_store import MemoryJobStore

TOKEN = tokens.new_token().encode()  # 64 hex digits
NS, ROOT = "team", "root"
MAX_BODY = Settings().max_body  # also the longest request line (app.py)
# Marks the bytes of each hostile request, so the log can be searched for them.
FILLER = b"q7Zk"


@dataclass(frozen=True)
class Hostile:
    what: str
    request: bytes
    status: int
    error: str


HOSTILE = [
    Hostile("a query of 100 KB, the token in it",
            b"GET /child/SubmitJob?familyToken=" + TOKEN + b"&cmd=" + FILLER * 25_000 + b" HTTP/1.1\r\n"
            b"Host: x\r\n\r\n", 414, "request line too long"),
    Hostile("a header line of 9 kB, the token in it",
            b"GET /child/JobDetail?jobId=root HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + TOKEN + FILLER * 2250 + b"\r\n\r\n", 431, "header too long"),
    Hostile("200 headers, each with the token",
            b"GET /child/JobDetail?jobId=root HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%s-%d: %s\r\n" % (FILLER, i, TOKEN) for i in range(200)) + b"\r\n",
            431, "too many headers"),
    Hostile("a broken request line, the token in it",
            b"GET /child/JobDetail?jobId=root&familyToken=" + TOKEN + b" HTTP/1.1 " + FILLER + b"\r\n"
            b"Host: x\r\n\r\n", 400, "malformed request line"),
    Hostile("a method that is no token",
            b"G{" + FILLER + b"} /child/JobDetail?familyToken=" + TOKEN + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            400, "malformed request line"),
    Hostile("bad chunked encoding, the token in the chunk",
            b"POST /child/SubmitJob HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + FILLER + TOKEN + b"\r\n{}\r\n0\r\n\r\n",
            400, "malformed request"),
]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


async def exchange(port: int, request: bytes, timeout: float = 10.0) -> Answer:
    """Sends `request` on a new connection; what came back before the server closed it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)  # to EOF: the server closes
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return Answer(int(status_line.split(" ", 2)[1]), headers, body)


@pytest.fixture
async def port() -> AsyncIterator[int]:
    """The shim as `dlws-api-shim` runs it (main.run), on a free port."""
    store = MemoryJobStore()
    store.add_root(NS, ROOT, tokens.family_digest(TOKEN.decode()))
    [free] = free_ports(1)
    task = asyncio.create_task(shim_main.run(Settings(port=free, shutdown_delay=0, drain_timeout=1),
                                             store=store, index=store.index))
    try:
        for _ in range(200):
            assert not task.done(), task.exception()
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", free)
            except OSError:
                await asyncio.sleep(0.025)
                continue
            writer.close()
            break
        yield free
    finally:
        task.cancel()  # serve() cleans up the runner on its way out
        await asyncio.gather(task, return_exceptions=True)
        for signum in STOP_SIGNALS:  # serve() took them on the test session's loop
            asyncio.get_running_loop().remove_signal_handler(signum)


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.what for h in HOSTILE])
async def test_a_request_the_parser_refuses_gets_json_and_echoes_nothing(
        port: int, hostile: Hostile, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await exchange(port, hostile.request)
    assert answer.status == hostile.status
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["connection"].lower() == "close"
    assert json.loads(answer.body) == {"error": hostile.error}
    # No run of 6 bytes of the body comes from the request (headers: the token, below).
    assert not [answer.body[i:i + 6] for i in range(len(answer.body) - 5)
                if answer.body[i:i + 6] in hostile.request]
    assert TOKEN not in answer.body and all(TOKEN.decode() not in v for v in answer.headers.values())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN.decode() not in logged and FILLER.decode() not in logged
    assert f"could not read: {hostile.error} ({hostile.status})" in logged


async def test_the_next_connection_is_served_and_refusals_are_counted(port: int) -> None:
    for hostile in HOSTILE:
        await exchange(port, hostile.request)
    detail = await exchange(port, b"GET /child/JobDetail?jobId=" + ROOT.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                                  b"Authorization: Bearer " + TOKEN + b"\r\nConnection: close\r\n\r\n")
    assert detail.status == 200 and json.loads(detail.body)["jobId"] == ROOT
    metrics = await exchange(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    counted = {line.split(" ")[0]: float(line.split(" ")[1]) for line in metrics.body.decode().splitlines()
               if line.startswith("dlws_shim_parser_rejections_total")}
    assert counted == {'dlws_shim_parser_rejections_total{status="414"}': 1.0,
                       'dlws_shim_parser_rejections_total{status="431"}': 2.0,
                       'dlws_shim_parser_rejections_total{status="400"}': 3.0}


async def test_a_long_query_within_the_limit_still_reaches_the_parameter_checks(port: int) -> None:
    # app.py raises max_line_size to the body limit, for the samples' long cmd in the query.
    query = (b"jobName=x&resourcegpu=0&dataPath=d&image=busybox&jobType=training&cmd="
             + b"c" * (MAX_BODY // 2))
    answer = await exchange(port, b"GET /child/SubmitJob?" + query + b" HTTP/1.1\r\nHost: x\r\n"
                                  b"Authorization: Bearer " + TOKEN + b"\r\nConnection: close\r\n\r\n")
    assert answer.status == 200 and "cmd is too long" in json.loads(answer.body)["error"]


def test_a_line_too_long_is_told_apart_only_when_the_limits_differ() -> None:
    line = LineTooLong(b"...", 8190)
    assert refusal(line, max_line_size=65536, max_field_size=8190) == (431, "header too long")
    assert refusal(line, max_line_size=8190, max_field_size=4096) == (414, "request line too long")
    assert refusal(line, max_line_size=8190, max_field_size=8190) == (400, "request line or header too long")
    assert refusal(BadHttpMessage("Too many headers received"), max_line_size=1, max_field_size=2) == \
        (431, "too many headers")


async def test_a_failure_outside_every_middleware_is_json_too(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(request: web.Request) -> web.StreamResponse:
        raise RuntimeError("a bug")

    app = web.Application()  # no error middleware: the failure reaches aiohttp
    app.router.add_get("/", broken)
    runner = AppRunner(app, rejections=Counter("t", "t", ["status"], registry=None))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        answer = await exchange(runner.addresses[0][1], b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    finally:
        await runner.cleanup()
    assert answer.status == 500 and json.loads(answer.body) == {"error": "internal error"}
    # A bug of ours, unlike a client's mistake: logged with its traceback.
    assert [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
