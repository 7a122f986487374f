"""The four /child operations and the waits built on them; each returns the API's JSON.

Family and Job (api.py) wrap these for programs; the command line (cli.py) prints what
they return. The transport has retried what is safe to retry; here an answer becomes
either the API's JSON or the error it means.
"""
from __future__ import annotations

import math
import re
import uuid
from typing import Any, Dict, FrozenSet, Iterable, Mapping, Optional, Tuple, Union

from dlws_client.errors import DlwsError, JobEnded, Refused, WaitTimeout, error_for
from dlws_client.retry import Backoff
from dlws_client.transport import IDEMPOTENCY_HEADER, REPLAYED_HEADER, Answer, Transport

# JobDetail's jobStatus words, in a job's order (api_shim/detail.py; DLWS's words). A
# killed job, and every job below it, shows "killed" from its kill on (the kill's record),
# as long as ended jobs are kept.
STATUSES: Tuple[str, ...] = ("queued", "scheduling", "running", "finished", "failed", "killing", "killed",
                             "error")
# A job with one of these never shows another (but for being gone).
ENDED: FrozenSet[str] = frozenset({"finished", "failed", "killing", "killed", "error"})
KILL_OK = "Success, the job is scheduled to be terminated."
# The API's rule for keys: 1 to 255 visible ASCII characters.
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# JobDetail polls: from 0.1-0.2 s, growing to 1-2 s.
POLL = Backoff(first=0.2, factor=2.0, cap=2.0)

Statuses = Union[str, Iterable[str]]


def reply(op: str, answer: Answer, *, keyed: bool = False) -> Dict[str, Any]:
    """The API's JSON if it is an answer, else the error it means."""
    body = answer.body
    if answer.status == 200 and body is not None and "error" not in body:
        return body
    if answer.status == 200 and body is None:
        raise DlwsError(f"{op}: the answer is not a JSON object", operation=op, status=200)
    raise error_for(op, answer.status, body, keyed=keyed)


def new_key() -> str:
    return str(uuid.uuid4())


def submit(transport: Transport, params: Mapping[str, Any],
           idempotency_key: Optional[str] = None) -> Tuple[Dict[str, Any], bool]:
    """SubmitJob: ({"jobId": ...}, whether the API replayed an earlier call's answer).
    Every attempt carries the same key, so retries never make a second job."""
    key = new_key() if idempotency_key is None else idempotency_key
    if not _KEY.fullmatch(key):
        raise ValueError("an idempotency key must be 1 to 255 visible ASCII characters (no spaces)")
    if "familyToken" in params:
        raise ValueError("familyToken is not a job parameter: the client sends the token itself")
    answer = transport.call("SubmitJob", {k: v for k, v in params.items() if v is not None},
                            headers={IDEMPOTENCY_HEADER: key})
    body = reply("SubmitJob", answer, keyed=True)
    if not isinstance(body.get("jobId"), str) or not body["jobId"]:
        raise DlwsError("SubmitJob: the answer has no jobId", operation="SubmitJob", status=answer.status)
    return body, answer.headers.get(REPLAYED_HEADER, "").lower() == "true"


def detail(transport: Transport, job_id: str, *, deadline: Optional[float] = None,
           log: bool = True) -> Dict[str, Any]:
    """JobDetail; log=False leaves out the job's log (and the API's read of it)."""
    params: Dict[str, Any] = {"jobId": job_id} if log else {"jobId": job_id, "log": "0"}
    return reply("JobDetail", transport.call("JobDetail", params, deadline=deadline))


def job_ip(transport: Transport, job_id: str, wait: float = 0.0) -> Dict[str, Any]:
    """GetJobIP: {"IP": ...}, waiting up to `wait` seconds for the job to get one. The API
    holds each request up to its own bound (60 s by default), so a longer wait asks again;
    a job that ended without an IP is reported at once, not waited for."""
    if not math.isfinite(wait) or wait < 0:
        raise ValueError("wait must be a number of seconds, 0 or more")
    end = transport.clock() + wait
    attempt = 0
    while True:
        hold = max(0.0, end - transport.clock())
        params: Dict[str, Any] = {"jobId": job_id}
        if hold > 0:
            params["wait"] = round(hold, 3)
        try:
            body = reply("GetJobIP", transport.call("GetJobIP", params, hold=hold))
        except Refused as refused:
            left = end - transport.clock()
            # No IP yet. Worth asking again only if there is time and the job may still get one.
            if left <= 0 or _ended_or_gone(transport, job_id):
                raise refused
            transport.sleep(min(POLL.poll(attempt, transport.uniform), left))
            attempt += 1
            continue
        if not isinstance(body.get("IP"), str) or not body["IP"]:
            raise DlwsError("GetJobIP: the answer has no IP", operation="GetJobIP", status=200)
        return body


def _ended_or_gone(transport: Transport, job_id: str) -> bool:
    try:
        return detail(transport, job_id).get("jobStatus") in ENDED
    except Refused:  # not found: GetJobIP's own refusal says so
        return True


def kill(transport: Transport, job_id: str) -> Dict[str, Any]:
    """KillJob: {"result": ...}. The API answers "Cannot Kill the job" for a job that is
    gone. When an earlier attempt of this same call may have been carried out (it got no
    answer after sending, or a 5xx), that answer most likely means that attempt killed the
    job, so it counts as success; the client cannot tell it from a job that was already
    gone for another reason, and either way the job is not running. Otherwise it is
    Refused."""
    answer = transport.call("KillJob", {"jobId": job_id})
    body = reply("KillJob", answer)
    result = body.get("result")
    if result == KILL_OK or answer.maybe_applied_before:
        return body
    raise Refused(f"KillJob: {result}", operation="KillJob", status=answer.status)


def wanted_statuses(status: Statuses) -> FrozenSet[str]:
    wanted = frozenset([status] if isinstance(status, str) else status)
    unknown = sorted(wanted - set(STATUSES))
    if unknown or not wanted:
        raise ValueError(f"unknown status {', '.join(map(repr, unknown))}: "
                         f"JobDetail answers {', '.join(STATUSES)}")
    return wanted


def wait_until(transport: Transport, job_id: str, status: Statuses, timeout: float) -> Dict[str, Any]:
    """Polls JobDetail, with growing intervals, until the job's jobStatus is `status` (or
    one of them); returns that detail. WaitTimeout after `timeout` seconds; JobEnded as
    soon as the job shows an end it was not waited for."""
    wanted = wanted_statuses(status)
    end = transport.clock() + timeout
    attempt = 0
    last: Optional[Dict[str, Any]] = None
    while True:
        # Reading the status may be retried, but not for longer than the wait has left.
        # Polls read the status only: the log, once the status is reached, by detail().
        last = detail(transport, job_id, deadline=max(end - transport.clock(), 0.0), log=False)
        now = last.get("jobStatus")
        if now in wanted:
            return last
        if now in ENDED:
            raise JobEnded(f"job {job_id} is {now}: it will not be {' or '.join(sorted(wanted))}",
                           detail=last)
        left = end - transport.clock()
        if left <= 0:
            raise WaitTimeout(f"job {job_id} is still {now} after {timeout:g} s, not "
                              f"{' or '.join(sorted(wanted))}", last=last)
        transport.sleep(min(POLL.poll(attempt, transport.uniform), left))
        attempt += 1
