"""Console entry point `kubectl-dlws`: kubectl runs it for `kubectl dlws ...`. Flags,
errors and output; what it draws is tree_view's, what it reads family's."""
from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, TextIO

import aiohttp
from kubernetes.aio.client.exceptions import ApiException
from kubernetes.aio.config import ConfigException

from dlws_contract import kube_api
from dlws_kubectl import connection, family, tree_view

CLEAR_SCREEN: Final = "\x1b[H\x1b[2J"
TREE_DESCRIPTION: Final = f"""\
Draw the whole family of JOB as a tree, from its root down; JOB is marked {tree_view.FOCUS_MARK.strip()}.
Each line is one DLWSJob: its name (the jobId), jobName, status, pod IP, GPUs
(spec.resourcegpu) and age. The status is JobDetail's word: queued, scheduling,
running, finished, failed, killing (from the moment its kill began), or killed
(gone, drawn from the kill's record, kept as long as ended jobs are). The tree
follows each job's dlworkspace.io/parent label; jobs whose parent is gone are
drawn after a note, under the gone parent's name.

Reads the job, then one LIST of the DLWSJobs with the family's root label and one
of its kill records: needs get, list and watch on dlwsjobs, and list and watch on
configmaps to show killed jobs (without it, they are left out). The kubeconfig is --kubeconfig;
else, in a pod, its ServiceAccount; else $KUBECONFIG, else ~/.kube/config. The
namespace is --namespace, else the context's, else default.

--watch draws the tree again each time a job of the family changes, as a watch of
the API server reports it (no polling), until Ctrl-C or until the family is gone."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kubectl dlws", description="DLWSJob families (dlworkspace.io), in kubectl.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tree = commands.add_parser("tree", help="draw the family of a job as a tree", description=TREE_DESCRIPTION,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    tree.add_argument("job", metavar="JOB", help="a DLWSJob's name (its jobId)")
    tree.add_argument("-n", "--namespace", help="the job's namespace (default: the context's, else default)")
    tree.add_argument("-w", "--watch", action="store_true", help="draw again on every change, until Ctrl-C")
    tree.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    tree.add_argument("--context", help="the kubeconfig context to use (default: its current context)")
    tree.add_argument("--request-timeout", type=float, default=30.0, metavar="SECONDS",
                      help="seconds before a request gives up (default: 30)")
    return top


def draw(out: TextIO, jobs: Iterable[Mapping[str, Any]], focus: str, *, clear: bool, apart: bool) -> None:
    """clear: draw in place (a terminal). apart: a blank line after, so a reader of a pipe
    knows a drawing is whole when it comes."""
    lines = tree_view.render(jobs, datetime.datetime.now(datetime.timezone.utc), focus)
    out.write((CLEAR_SCREEN if clear else "") + "\n".join(lines) + "\n" + ("\n" if apart else ""))
    out.flush()


async def tree(args: argparse.Namespace, out: TextIO) -> int:
    api = await connection.api_client(args.kubeconfig, args.context)
    try:
        namespace = args.namespace or connection.default_namespace(args.kubeconfig, args.context)
        found = await family.read_family(api, namespace, args.job, timeout=args.request_timeout)
        clear = args.watch and out.isatty()
        apart = args.watch and not clear
        draw(out, found.jobs, args.job, clear=clear, apart=apart)
        if not args.watch:
            return 0
        async for jobs in family.watch_family(api, found, timeout=args.request_timeout):
            draw(out, jobs, args.job, clear=clear, apart=apart)
        out.write(f"the family of {found.root} is gone: no DLWSJob is left in it\n")
        out.flush()
        return 0
    finally:
        await api.close()  # type: ignore[no-untyped-call]


def failure(error: BaseException) -> str | None:
    """What to tell the user of an error we expect; None for a bug (its traceback shows)."""
    if isinstance(error, family.JobNotFound):
        return str(error)
    if isinstance(error, ApiException):
        return kube_api.server_message(error)
    if isinstance(error, ConfigException):
        return f"kubeconfig: {error}"
    if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return f"cannot reach the API server: {error or type(error).__name__}"
    return None


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    # The watch's own warnings (a failed watch, retried) are the user's to see.
    logging.basicConfig(level=logging.WARNING, format="kubectl-dlws: %(message)s", stream=sys.stderr)
    try:
        code = asyncio.run(tree(args, sys.stdout))
    except KeyboardInterrupt:
        code = 130
    except Exception as error:
        message = failure(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
