"""One dict of parameters from a request: GET query, plus a POST JSON or form body.

The seed samples send everything in the query; POST clients may send the same fields as
a JSON object or a form. Each parameter may be given once: a repeated one is refused
rather than guessed at. The body has a deadline of its own, which the caller gives
(the settings' read_timeout): this module knows the request, not the application.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from aiohttp import web

from api_shim.errors import BadRequest, RequestTimeout

MAX_PARAMETERS: Final = 64
_JSON_TYPES: Final = ("application/json",)
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


def merge(*sources: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for source in sources:
        for name, value in source:
            if name in merged and merged[name] != value:
                raise BadRequest(f"parameter {name[:64]!r} is given more than once")
            merged[name] = value
            if len(merged) > MAX_PARAMETERS:
                raise BadRequest(f"too many parameters: at most {MAX_PARAMETERS}")
    return merged


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        # The position helps the caller; the text of the body is not echoed.
        where = f" at line {e.lineno} column {e.colno}" if isinstance(e, json.JSONDecodeError) else ""
        raise BadRequest(f"the body is not valid JSON{where}") from None
    if not isinstance(doc, dict):
        raise BadRequest("the JSON body must be an object of parameters")
    return doc


async def _body(request: web.Request, seconds: float) -> Mapping[str, Any]:
    if request.method != "POST" or not request.body_exists:
        return {}
    try:
        async with asyncio.timeout(seconds):
            return await _read_body(request)
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {seconds:g} seconds") from None


async def _read_body(request: web.Request) -> Mapping[str, Any]:
    kind = request.content_type
    if kind in _JSON_TYPES or kind.endswith("+json"):
        # read() enforces the app's client_max_size (413) before anything is parsed.
        return parse_json_object(await request.read())
    if kind in _FORM_TYPES:
        try:
            form = await request.post()
        except ValueError:  # a multipart body without its boundary, bad encoding, ...
            raise BadRequest("the form body is malformed") from None
        fields: dict[str, Any] = {}
        for name, value in form.items():
            if not isinstance(value, str):
                raise BadRequest("file uploads are not accepted")
            if name in fields and fields[name] != value:
                raise BadRequest(f"parameter {name[:64]!r} is given more than once")
            fields[name] = value
        return fields
    raise BadRequest("send parameters in the query, or as a JSON object or form body")


async def read_params(request: web.Request, *, timeout: float) -> dict[str, Any]:
    """The query and the body's parameters, merged; the body must arrive within `timeout`
    seconds (RequestTimeout otherwise)."""
    return merge(request.query.items(), (await _body(request, timeout)).items())
