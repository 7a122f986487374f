"""One /child call over HTTP, retried until it gets an answer worth returning.

Every call is a POST of a JSON object to <DLWS_REST_API>/child/<Op> with the token in
`Authorization: Bearer`, never in the URL, where proxies and access logs would keep it.
429, 408, 502, 503, 504 and calls that got no answer are retried with backoff and jitter
until a total deadline; any other answer is returned as it came, for the operation to
read. Only the standard library is used, so any job image can carry this.
"""
from __future__ import annotations

import http.client
import json
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from dlws_client.errors import ConfigError, DlwsError, Unavailable, error_for
from dlws_client.retry import Backoff, Uniform, retry_after_seconds

VERSION = "0.1.0"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "idempotent-replayed"  # lower case: Answer.headers are
REDACTED = "<redacted>"
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})


@dataclass(frozen=True)
class Answer:
    status: int
    body: Optional[Dict[str, Any]]  # the JSON object answered; None if it was not one
    headers: Dict[str, str]  # names in lower case
    # An earlier attempt of this call may have been carried out although its answer was
    # lost (no answer after the request was sent, or a 5xx): KillJob reads this.
    maybe_applied_before: bool = False


class NoAnswer(Exception):
    def __init__(self, reason: str, maybe_applied: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_applied = maybe_applied


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The API never redirects; following one would send the token to another place."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        return None


def child_url(api_url: str, op: str) -> str:
    """DLWS_REST_API ends in "/" in a job; one without it works too."""
    return f"{api_url.rstrip('/')}/child/{op}"


def check_token(token: str) -> str:
    """A token a header can carry; the error never shows it."""
    if not token or not all("\x21" <= c <= "\x7e" for c in token):
        raise ConfigError("the family token is empty or holds spaces or control characters: "
                          "pass the job's $FAMILY_TOKEN as it is")
    return token


class Transport:
    def __init__(self, api_url: str, token: str, *, deadline: float = 60.0,
                 request_timeout: float = 30.0, backoff: Backoff = Backoff(),
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 uniform: Uniform = random.uniform,
                 wall_clock: Callable[[], float] = time.time) -> None:
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"the API URL must start with http:// or https://, not {api_url[:80]!r}")
        self.api_url = api_url
        self._token = check_token(token)
        self.deadline = deadline  # seconds one call may take, every attempt and wait included
        self.request_timeout = request_timeout  # seconds one attempt may take
        self.backoff = backoff
        self.clock = clock
        self.sleep = sleep
        self.uniform = uniform
        self._wall_clock = wall_clock
        self._opener = urllib.request.build_opener(_NoRedirects())

    def __repr__(self) -> str:
        return f"Transport({self.api_url!r})"  # never the token

    def call(self, op: str, params: Mapping[str, Any], *, headers: Optional[Mapping[str, str]] = None,
             hold: float = 0.0, deadline: Optional[float] = None) -> Answer:
        """The first answer that is not worth retrying. `hold`: seconds the API may hold
        the request (GetJobIP's wait), added to the timeouts. `deadline` overrides the
        transport's own. Raises the last retried answer's error (OverLimit, Unavailable)
        once the next wait would pass the deadline."""
        extra = dict(headers or {})
        keyed = IDEMPOTENCY_HEADER in extra
        data = json.dumps(dict(params)).encode()
        end = self.clock() + (self.deadline if deadline is None else deadline) + hold
        maybe_applied = False
        attempt = 0
        while True:
            timeout = min(self.request_timeout + hold, max(end - self.clock(), 1.0))
            try:
                status, raw, got = self.once(op, data, extra, timeout)
            except NoAnswer as e:
                failure: DlwsError = Unavailable(f"{op}: no answer from {child_url(self.api_url, op)} "
                                                 f"({e.reason})", operation=op)
                applied, retry_after = e.maybe_applied, None
            else:
                body = _json_object(raw)
                if status not in RETRY_STATUSES:
                    return Answer(status, body, got, maybe_applied)
                retry_after = retry_after_seconds(got.get("retry-after"), self._wall_clock())
                failure = error_for(op, status, body, keyed=keyed, retry_after=retry_after)
                # 429 comes before anything is done; a 5xx may follow a write that went through.
                applied = status != 429
            pause = self.backoff.delay(attempt, self.uniform, retry_after)
            if self.clock() + pause > end:
                raise failure
            maybe_applied = maybe_applied or applied
            self.sleep(pause)
            attempt += 1

    def once(self, op: str, data: bytes, headers: Mapping[str, str],
             timeout: float) -> Tuple[int, bytes, Dict[str, str]]:
        """One attempt: (status, body, headers) of any HTTP answer, or NoAnswer."""
        request = urllib.request.Request(child_url(self.api_url, op), data=data, method="POST", headers={
            "Authorization": f"Bearer {self._token}", "Content-Type": "application/json",
            "Accept": "application/json", "User-Agent": f"dlws-client/{VERSION}", **headers})
        try:
            try:
                with self._opener.open(request, timeout=timeout) as response:
                    return response.status, self._scrub(response.read()), _lower(response.headers)
            except urllib.error.HTTPError as e:  # any status but 2xx
                try:
                    return e.code, self._scrub(e.read()), _lower(e.headers)
                finally:
                    e.close()
        except urllib.error.URLError as e:
            # Raised while connecting or sending: the API never had the whole request.
            raise NoAnswer(self._reason(e.reason), maybe_applied=False) from None
        except (OSError, http.client.HTTPException) as e:
            # Raised while waiting for or reading the answer: the request may have been
            # carried out (a timeout, a reset, a shim that died before answering).
            raise NoAnswer(self._reason(e), maybe_applied=True) from None

    def _scrub(self, raw: bytes) -> bytes:
        return raw.replace(self._token.encode(), REDACTED.encode())

    def _reason(self, reason: object) -> str:
        text = f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason)
        return text.replace(self._token, REDACTED)


def _json_object(raw: bytes) -> Optional[Dict[str, Any]]:
    try:
        doc = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return None
    return doc if isinstance(doc, dict) else None


def _lower(headers: Any) -> Dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers.items() if headers is not None else ())}
