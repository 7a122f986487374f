"""JSON replies that also say how a request ended, for the metrics."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web


class Reply(web.Response):
    def __init__(self, data: Mapping[str, Any], *, status: int = 200, outcome: str = "ok",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(text=json.dumps(data), status=status, content_type="application/json",
                         headers=headers)
        # ok | app_error | bad_request | forbidden | limited | unavailable | not_found | internal
        self.outcome = outcome


def app_error(message: str) -> Reply:
    """DLWS answered application errors with HTTP 200 and {"error": ...}; so do we."""
    return Reply({"error": message}, outcome="app_error")
