"""JSON answers to requests that aiohttp's HTTP parser refuses.

A request line or header over the limits, too many headers, a broken request line or bad
chunked encoding never reaches the app or its middlewares: aiohttp answers it itself, in
plain text that quotes the offending bytes (a familyToken among them, perhaps), and logs
a traceback at ERROR. aiohttp has no hook for that answer (aio-libs/aiohttp#3287), so the
shim's runner makes connections of a RequestHandler whose handle_error answers in the
API's error shape with a fixed message, and logs one line at INFO: a client's mistake.
"""
from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http import HttpProcessingError
from aiohttp.http_exceptions import BadStatusLine, InvalidHeader, InvalidURLError, LineTooLong
from prometheus_client import Counter

from api_shim.replies import Reply

log = logging.getLogger(__name__)

# Both of aiohttp's parsers (C and pure Python) raise a plain BadHttpMessage with this text.
_TOO_MANY_HEADERS = "Too many headers received"


def refusal(exc: HttpProcessingError, *, max_line_size: int, max_field_size: int) -> tuple[int, str]:
    """The status and fixed message for what the parser refused; nothing of the request."""
    if isinstance(exc, LineTooLong):
        # aiohttp raises it with the limit that was passed: the request line's or a header's.
        limit = exc.args[1]
        if limit == max_line_size != max_field_size:
            return 414, "request line too long"
        if limit == max_field_size != max_line_size:
            return 431, "header too long"
        return 400, "request line or header too long"
    if exc.message == _TOO_MANY_HEADERS:
        return 431, "too many headers"
    if isinstance(exc, BadStatusLine | InvalidURLError):
        return 400, "malformed request line"
    if isinstance(exc, InvalidHeader):
        return 400, "malformed header"
    return 400, "malformed request"  # e.g. bad chunked encoding, Content-Length with chunked


class JsonErrorHandler(web.RequestHandler):
    """A connection of the shim: aiohttp's, but every answer it makes itself is JSON."""

    __slots__ = ("_rejections",)

    def __init__(self, manager: web.Server, *, rejections: Counter, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._rejections = rejections

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            # A failure of ours that escaped the error middleware (500), or a timeout
            # (504): aiohttp logs it with its traceback; only its answer is replaced.
            super().handle_error(request, status, exc, message)
            text = "internal error" if status == 500 else HTTPStatus(status).phrase.lower()
            reply = Reply({"error": text}, status=status, outcome="internal")
        else:
            status, text = refusal(exc, max_line_size=self.max_line_size, max_field_size=self.max_field_size)
            log.info("refused a request from %s that the HTTP parser could not read: %s (%d)",
                     request.remote, text, status)
            self._rejections.labels(str(status)).inc()
            reply = Reply({"error": text}, status=status, outcome="bad_request")
        # What follows on the connection cannot be trusted to start a request.
        reply.headers["Connection"] = "close"
        reply.force_close()
        return reply


class _Server(web.Server):
    def __call__(self) -> web.RequestHandler:
        # web.Server.__call__, with the handler class replaced.
        return JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class AppRunner(web.AppRunner):
    """web.AppRunner whose connections are JsonErrorHandlers, which count what they refuse
    in `rejections` (by status)."""

    def __init__(self, app: web.Application, *, rejections: Counter, **kwargs: Any) -> None:
        super().__init__(app, rejections=rejections, **kwargs)  # reaches each handler

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()  # starts the app; made with every handler setting
        server.__class__ = _Server  # web.Server makes plain RequestHandlers, with no hook
        return server
