"""Logging that cannot show a family token.

The access log writes the query with familyToken's value replaced, and never writes
headers (Authorization carries the token). As a second guard, every log record of the
process passes through `redact`, which also hides anything shaped like a token (a long
run of hex digits), wherever a caller may have put one, e.g. in a path.
"""
from __future__ import annotations

import logging
import re
from typing import Final

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

REDACTED: Final = "REDACTED"
# familyToken=<value> in a query string or form, in any letter case, raw or %-encoded name.
_TOKEN_PARAM: Final = re.compile(r"((?:^|[?&;\s\"'])familytoken=)[^&;\s\"']*", re.IGNORECASE)
# Our tokens are 64 hex digits, DLWS's 32; jobIds (uuid4) have at most 12 in a row.
_HEX_RUN: Final = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32,}(?![0-9a-fA-F])")
# The same shapes %-encoded are not a concern: hex digits are never encoded.


def redact(text: str) -> str:
    text = _TOKEN_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
    return _HEX_RUN.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message; attach it to the handlers of the process."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class AccessLogger(AbstractAccessLogger):
    """remote "METHOD path?query" status bytes seconds, with the query redacted."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        url = request.rel_url
        if any(name.lower() == "familytoken" for name in url.query):
            # Rebuilt from the parsed query, so an oddly encoded name is caught too.
            url = url.with_query([(k, REDACTED if k.lower() == "familytoken" else v)
                                  for k, v in url.query.items()])
        target = redact(url.raw_path_qs)
        self.logger.info('%s "%s %s" %d %d %.4f', request.remote or "-", request.method,
                         target, response.status, response.body_length, time)
