"""What can go wrong, as types a caller can catch, and which answer means which.

Every error the client raises is a DlwsError. Messages carry the API's own words and
never the family token (the transport scrubs it from anything it did not write itself).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional


class DlwsError(Exception):
    """Anything the client raises; also an answer that fits none of the kinds below."""

    def __init__(self, message: str, *, operation: str = "", status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation  # SubmitJob, KillJob, JobDetail, GetJobIP, or ""
        self.status = status  # the HTTP status of the last answer, None without one


class ConfigError(DlwsError):
    """FAMILY_TOKEN or DLWS_REST_API is missing: not inside a DLWS job."""


class Refused(DlwsError):
    """The API said no: an application error (HTTP 200 with {"error": ...}, as DLWS
    answers them, or KillJob's "Cannot Kill the job"), or a 4xx such as 400 and 422."""


class IdempotencyConflict(Refused):
    """HTTP 422: this idempotency key already made a job with other parameters."""


class Forbidden(DlwsError):
    """HTTP 403: the family token is missing, malformed or not of a live family."""


class OverLimit(DlwsError):
    """HTTP 429, still so when the retries' deadline ran out: a family limit."""

    def __init__(self, message: str, *, operation: str = "", status: Optional[int] = 429,
                 retry_after: Optional[float] = None) -> None:
        super().__init__(message, operation=operation, status=status)
        self.retry_after = retry_after  # seconds the API asked to wait, if it said


class Unavailable(DlwsError):
    """HTTP 503 (or 408, 502, 504), or no answer (connection refused, reset, timed out), still so
    when the retries' deadline ran out."""


class WaitTimeout(DlwsError):
    """Job.wait_until: the job did not reach the status in time."""

    def __init__(self, message: str, *, last: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message, operation="JobDetail")
        self.last = last  # the last JobDetail answer, if any


class JobEnded(DlwsError):
    """Job.wait_until: the job reached an end (finished, failed, killing, error) other
    than the status waited for, so it never will."""

    def __init__(self, message: str, *, detail: Dict[str, Any]) -> None:
        super().__init__(message, operation="JobDetail")
        self.detail = detail
        self.job_status = str(detail.get("jobStatus"))


def error_for(operation: str, status: int, body: Optional[Mapping[str, Any]], *,
              keyed: bool = False, retry_after: Optional[float] = None) -> DlwsError:
    """The error an answer means; `keyed`: the request carried an idempotency key."""
    said = body.get("error") if body is not None else None
    text = str(said) if said is not None else f"HTTP {status}"
    message = f"{operation}: {text}"
    if status == 403:
        return Forbidden(message, operation=operation, status=status)
    if status == 429:
        return OverLimit(message, operation=operation, status=status, retry_after=retry_after)
    if status in (408, 502, 503, 504):
        return Unavailable(message, operation=operation, status=status)
    if status == 422 and keyed:
        return IdempotencyConflict(message, operation=operation, status=status)
    if (status == 200 and said is not None) or 400 <= status < 500:
        return Refused(message, operation=operation, status=status)
    return DlwsError(message, operation=operation, status=status)
