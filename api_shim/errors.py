"""Every failure becomes a JSON answer: never an HTML page, never a traceback.

Handlers raise ApiError subclasses for HTTP-level refusals (403, 400, 429, 503); the
application-level errors that DLWS answered with HTTP 200 are ordinary replies
(replies.py). The middleware also turns aiohttp's own errors (404, 405, 413) and any
unexpected exception into JSON.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler

from api_shim.replies import Reply
from api_shim.store import Unavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 500
    outcome = "error"

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    status = 400
    outcome = "bad_request"


class RequestTimeout(ApiError):
    """The body did not arrive in time; the connection is closed after the answer."""
    status = 408
    outcome = "bad_request"


class Forbidden(ApiError):
    status = 403
    outcome = "forbidden"


class TooMany(ApiError):
    status = 429
    outcome = "limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        # Retry-After is whole seconds; round up so a client that obeys it succeeds.
        super().__init__(message, headers={"Retry-After": str(max(1, int(-(-retry_after // 1))))})


class NotReady(ApiError):
    status = 503
    outcome = "unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": "1"})


_AIOHTTP_MESSAGES = {
    404: "not found: the operations are /child/SubmitJob, /child/KillJob, /child/JobDetail "
         "and /child/GetJobIP (also without /child); see /openapi.json",
    405: "method not allowed: use GET or POST",
    413: "request body too large",
}
_KEPT_HEADERS = ("Allow", "Retry-After")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as e:
        reply = Reply({"error": e.message}, status=e.status, outcome=e.outcome, headers=e.headers)
        if isinstance(e, RequestTimeout):
            reply.force_close()
        return reply
    except Unavailable as e:
        return Reply({"error": str(e)}, status=503, outcome="unavailable", headers={"Retry-After": "2"})
    except web.HTTPException as e:
        if e.status < 400:
            raise
        # aiohttp's own text may echo the request path; a token put in a path must not
        # come back, so known statuses get a fixed message.
        message = _AIOHTTP_MESSAGES.get(e.status, e.reason)
        headers = {k: e.headers[k] for k in _KEPT_HEADERS if k in e.headers}
        outcome = "not_found" if e.status == 404 else "bad_request"
        return Reply({"error": message}, status=e.status, outcome=outcome, headers=headers)
    except ConnectionResetError:
        raise  # the client went away mid-request: nobody to answer, nothing went wrong here
    except Exception:
        # The traceback goes to our log (the redacting filter guards it); the caller
        # gets nothing of it.
        log.exception("unexpected error handling %s %s", request.method, request.path)
        return Reply({"error": "internal error"}, status=500, outcome="internal")
