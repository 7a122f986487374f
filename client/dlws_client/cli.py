"""dlws-child: the /child API from a job's shell. Prints the API's JSON on stdout.

The token is always $FAMILY_TOKEN, never an option: a command line is visible to every
process of the machine (ps, /proc).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple, Type

from dlws_client import operations
from dlws_client.api import API_ENV, TOKEN_ENV, Family
from dlws_client.errors import (ConfigError, DlwsError, Forbidden, IdempotencyConflict, JobEnded,
                                OverLimit, Refused, Unavailable, WaitTimeout)

# Most specific first: the first class an error is an instance of gives its exit code.
EXIT_CODES: Tuple[Tuple[Type[DlwsError], int, str], ...] = (
    (IdempotencyConflict, 4, "the idempotency key made a job with other parameters (HTTP 422)"),
    (Refused, 3, "the API refused: an application error, as {\"error\": ...}, or a 4xx"),
    (Forbidden, 5, "the family token was refused (HTTP 403)"),
    (OverLimit, 6, "a family limit, still after retrying until the deadline (HTTP 429)"),
    (Unavailable, 7, "no answer, or 503, still after retrying until the deadline"),
    (WaitTimeout, 8, "wait: the job did not reach the status in time"),
    (JobEnded, 9, "wait: the job ended otherwise (finished, failed, killing, error)"),
    (ConfigError, 10, f"not in a job: ${TOKEN_ENV} or ${API_ENV} missing or unusable"),
    (DlwsError, 1, "an answer the client cannot read"),
)
USAGE_EXIT = 2
# SubmitJob's parameters, named for --help; any other --name value is passed on too.
SUBMIT_PARAMETERS = (
    ("jobName", "a name for the job (required)"),
    ("image", "container image (required)"),
    ("dataPath", "DLWS data path (required)"),
    ("jobType", "e.g. training (required)"),
    ("cmd", "run by bash -c (/bin/sh -c without bash); empty: the image's entry point"),
    ("resourcegpu", "GPUs (default 0)"),
    ("parentJobId", "a job of this family to nest it under (default: this job, $DLWS_JOB_ID)"),
    ("workPath", None), ("jobPath", None), ("logDir", None),
    ("interactivePort", "ports, separated by , or ;"),
    ("jobtrainingtype", "RegularJob (default) or PSDistJob (with --numps and --numpsworker)"),
    ("runningasroot", "1 or 0"),
    ("env", 'a JSON object, e.g. \'{"NAME": "value"}\''),
)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def exit_code(error: DlwsError) -> int:
    return next(code for kind, code, _ in EXIT_CODES if isinstance(error, kind))


def _epilog() -> str:
    codes = sorted([(0, "success"), (USAGE_EXIT, "usage: a bad option or value")] +
                   [(code, f"{kind.__name__}: {what}") for kind, code, what in EXIT_CODES])
    return (f"Runs inside a DLWS job: the API is ${API_ENV} (or --api), the token ${TOKEN_ENV}.\n"
            "Prints the API's JSON answer on stdout. An error is one JSON line on stderr,\n"
            '{"error": ..., "kind": ..., "operation": ..., "status": ...}, and the exit code\n'
            "says which kind:\n" + "\n".join(f"  {code:>2}  {text}" for code, text in codes) +
            "\nkill also succeeds on \"Cannot Kill the job\" when an earlier attempt's answer was\n"
            "lost (that attempt most likely killed it); it then says so on stderr.")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="dlws-child", description="Submit, inspect and kill jobs of this job's family.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    top.add_argument("--api", metavar="URL", help=f"the API (default: ${API_ENV})")
    top.add_argument("--retry-for", metavar="SECONDS", type=float, default=60.0,
                     help="how long one call may retry on 429, 503 and lost answers (default 60)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    submit = commands.add_parser(
        "submit", help="SubmitJob; prints {\"jobId\": ...}", allow_abbrev=False,
        description="SubmitJob. Parameters as --name value (or --name=value); any DLWS "
                    "parameter not listed is passed on as given.")
    for name, help_text in SUBMIT_PARAMETERS:
        submit.add_argument(f"--{name}", metavar="VALUE", help=help_text, action=_Once)
    submit.add_argument("--idempotency-key", metavar="KEY",
                        help="reuse a key to make sure a job is made once, even across runs of "
                             "this command (default: a new uuid4, kept for every retry)")

    for name, help_text in (("detail", "JobDetail: the job's detail"),
                            ("kill", "KillJob: the job and every job below it")):
        sub = commands.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        sub.add_argument("job_id", metavar="JOBID")

    ip = commands.add_parser("ip", help="GetJobIP; prints {\"IP\": ...}", allow_abbrev=False,
                             description="GetJobIP: the job's IP.")
    ip.add_argument("job_id", metavar="JOBID")
    ip.add_argument("--wait", metavar="SECONDS", type=float, default=0.0,
                    help="wait up to this long for the job to get an IP (default 0)")

    wait = commands.add_parser(
        "wait", help="wait for a jobStatus; prints the job's detail", allow_abbrev=False,
        description="Polls JobDetail until the job's jobStatus is one of --status.")
    wait.add_argument("job_id", metavar="JOBID")
    wait.add_argument("--status", action="append", required=True, metavar="STATUS",
                      help=f"one of {', '.join(operations.STATUSES)}; repeat it, or separate "
                           "by commas, to accept several")
    wait.add_argument("--timeout", metavar="SECONDS", type=float, default=60.0,
                      help="give up after this long (default 60)")
    return top


class _Once(argparse.Action):
    """A job parameter given twice is a mistake, not a value to pick one of."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> None:
        if getattr(namespace, self.dest) is not None:
            raise argparse.ArgumentError(self, "is given twice")
        setattr(namespace, self.dest, values)


def extra_parameters(rest: Sequence[str]) -> Dict[str, str]:
    """Unlisted SubmitJob parameters, as --name value or --name=value."""
    params: Dict[str, str] = {}
    items = list(rest)
    while items:
        option = items.pop(0)
        name, has_value, value = option[2:].partition("=")
        if not option.startswith("--") or not _NAME.fullmatch(name):
            raise ValueError(f"expected --name value, not {option[:64]!r}")
        if not has_value:
            if not items:
                raise ValueError(f"--{name} needs a value")
            value = items.pop(0)
        if name in params:
            raise ValueError(f"--{name} is given twice")
        params[name] = value
    return params


def run(args: argparse.Namespace, rest: List[str], family: Family, err: TextIO) -> Dict[str, Any]:
    transport = family.transport
    if args.command == "submit":
        params = {name: getattr(args, name) for name, _ in SUBMIT_PARAMETERS}
        for name, value in extra_parameters(rest).items():
            if name in params:
                raise ValueError(f"--{name} is given twice")
            params[name] = value
        if params["resourcegpu"] is None:
            params["resourcegpu"] = "0"
        if params["parentJobId"] is None:
            params["parentJobId"] = family.job_id
        body, _ = operations.submit(transport, params, args.idempotency_key)
        return body
    if rest:
        raise ValueError(f"unexpected argument(s): {' '.join(rest)[:120]}")
    if args.command == "detail":
        return operations.detail(transport, args.job_id)
    if args.command == "ip":
        return operations.job_ip(transport, args.job_id, args.wait)
    if args.command == "kill":
        body = operations.kill(transport, args.job_id)
        if body.get("result") != operations.KILL_OK:
            err.write("dlws-child: an earlier attempt's answer was lost; this answer most "
                      "likely means that attempt killed the job\n")
        return body
    statuses = [word.strip() for given in args.status for word in given.split(",") if word.strip()]
    return operations.wait_until(transport, args.job_id, statuses, args.timeout)


def main(argv: Optional[Sequence[str]] = None) -> int:
    out, err = sys.stdout, sys.stderr
    args, rest = parser().parse_known_args(argv)
    try:
        env = dict(os.environ)
        if args.api:
            env[API_ENV] = args.api
        family = Family.from_env(env, deadline=args.retry_for)
        body = run(args, rest, family, err)
    except DlwsError as e:
        _error(err, {"error": e.message, "kind": type(e).__name__, "operation": e.operation,
                     "status": e.status, **_extra(e)})
        return exit_code(e)
    except ValueError as e:
        _error(err, {"error": str(e), "kind": "usage"})
        return USAGE_EXIT
    out.write(json.dumps(body) + "\n")
    return 0


def _extra(error: DlwsError) -> Dict[str, Any]:
    if isinstance(error, OverLimit) and error.retry_after is not None:
        return {"retryAfter": error.retry_after}
    if isinstance(error, JobEnded):
        return {"jobStatus": error.job_status}
    if isinstance(error, WaitTimeout) and error.last is not None:
        return {"jobStatus": error.last.get("jobStatus")}
    return {}


def _error(err: TextIO, fields: Dict[str, Any]) -> None:
    err.write(json.dumps(fields) + "\n")
