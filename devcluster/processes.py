"""Start and stop processes, each remembered by a PID file (or, in a run without one, only
by this Python process).

A PID file records the PID together with the process's command line and its start time
(field 22 of /proc/<pid>/stat). Before signalling, both are compared with the live
process: PIDs are recycled, and a `down` run hours later must never kill whatever
unrelated process now owns a recorded PID.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

# Popen handles of the processes this Python process started, so that stopping them also
# reaps them (otherwise they linger as zombies until we exit).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
# Exit codes of those of them that were reaped (a negative code: killed by that signal).
_EXIT_CODES: dict[int, int] = {}


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    argv: tuple[str, ...]
    start_time: int  # clock ticks since boot, from /proc/<pid>/stat
    log: str
    order: int  # start order; processes are stopped in reverse

    @property
    def pid_file(self) -> str:
        return f"{self.name}.pid"


class ProcessExited(RuntimeError):
    """A process we started is no longer running."""

    def __init__(self, name: str, returncode: int | None, log: Path) -> None:
        self.name = name
        self.returncode = returncode
        self.log = log
        if returncode is None:
            code = "an unknown code (not our child)"
        elif returncode < 0:
            code = f"signal {signal.Signals(-returncode).name}"
        else:
            code = f"code {returncode}"
        super().__init__(
            f"{name} exited with {code}; last lines of {log}:\n{log_tail(log)}"
        )


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode(errors="replace")
    except OSError as e:
        return f"  (no log: {e})"
    return "\n".join("  | " + line for line in text.splitlines()[-lines:])


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start_time) of a live PID, or None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def _proc_cmdline(pid: int) -> tuple[str, ...] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return tuple(part.decode(errors="replace") for part in raw.split(b"\0")[:-1])


def _runs(pid: int, argv: tuple[str, ...]) -> bool:
    """Whether the process runs argv: a script with a #! line shows its interpreter in
    front of it (dlws-operator: python, then the script and its arguments)."""
    cmdline = _proc_cmdline(pid)
    return cmdline is not None and len(cmdline) >= len(argv) and cmdline[len(cmdline) - len(argv):] == argv


def is_alive(record: ProcessRecord) -> bool:
    """True when the recorded process (the same one, not a recycled PID) still runs."""
    child = _CHILDREN.get(record.pid)
    if child is not None:
        # Our own unreaped child: its PID cannot have been recycled, and waitpid is
        # the authority on whether it runs.
        _reap(record.pid)
        return record.pid in _CHILDREN
    if record.pid in _EXIT_CODES:
        return False
    stat = _proc_stat(record.pid)
    if stat is None:
        return False
    state, start_time = stat
    if state in ("Z", "X"):  # exited, waiting to be reaped by its parent
        return False
    return start_time == record.start_time and _runs(record.pid, record.argv)


def _reap(pid: int) -> None:
    child = _CHILDREN.get(pid)
    if child is not None:
        code = child.poll()
        if code is not None:
            _EXIT_CODES[pid] = code
            _CHILDREN.pop(pid, None)  # another thread may have reaped it too


def exit_code(record: ProcessRecord) -> int | None:
    """The exit code when we are the parent and it has exited, else None."""
    _reap(record.pid)
    return _EXIT_CODES.get(record.pid)


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    run_dir: Path | None,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    order: int | None = None,
) -> ProcessRecord:
    """Start `argv` detached (own session, output to <log_dir>/<name>.log) and record it
    in run_dir (None: no PID file, for a process that ends with ours).

    order: its place in the stop order (default: now, i.e. stopped first); a component
    started again keeps the place it had.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    child_env = dict(os.environ if env is None else env)
    # Every component is handed an explicit kubeconfig; never let one fall back to the
    # user's cluster.
    child_env.pop("KUBECONFIG", None)
    with log.open("ab") as out:
        # A new session: Ctrl-C in the terminal reaches only us, and we stop the
        # components in order; `make cluster-up` can exit while they keep running.
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env,
            start_new_session=True,
        )
    try:
        _CHILDREN[proc.pid] = proc
        _wait_exec_done(proc, tuple(argv))
        stat = _proc_stat(proc.pid)
        record = ProcessRecord(
            name=name,
            pid=proc.pid,
            argv=tuple(argv),
            start_time=stat[1] if stat else -1,
            log=str(log),
            order=time.time_ns() if order is None else order,
        )
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / record.pid_file).write_text(json.dumps(asdict(record)))
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) before the process was recorded: nobody else
        # could ever stop it.
        proc.kill()
        proc.wait()
        _reap(proc.pid)
        raise
    return record


def _wait_exec_done(proc: subprocess.Popen[bytes], argv: tuple[str, ...]) -> None:
    """Wait until the kernel shows the new program's command line.

    Popen returns once exec has closed the child's close-on-exec fds, which is before
    the kernel has set up the new program's arguments: for a moment /proc/<pid>/cmdline
    is empty. A PID file written then, or an identity check made then, would be wrong.
    """
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and proc.poll() is None:
        if _runs(proc.pid, argv):
            return
        time.sleep(0.001)


def read_records(run_dir: Path) -> list[ProcessRecord]:
    """Every recorded process, in start order."""
    records = []
    for path in run_dir.glob("*.pid"):
        try:
            raw = json.loads(path.read_text())
            raw["argv"] = tuple(raw["argv"])
            records.append(ProcessRecord(**raw))
        except (OSError, ValueError, TypeError, KeyError):
            continue  # a torn or foreign file: nothing we can safely signal
    return sorted(records, key=lambda r: r.order)


def check_running(record: ProcessRecord) -> None:
    """Raise ProcessExited when the process is gone."""
    if not is_alive(record):
        raise ProcessExited(record.name, exit_code(record), Path(record.log))


def stop(record: ProcessRecord, run_dir: Path | None, timeout: float = 10.0, *, kill: bool = False) -> None:
    """SIGTERM, then SIGKILL after `timeout`; forget the PID file. Harmless when gone.

    kill: SIGKILL at once, as a crash would end it (fault-injection tests).
    """
    if is_alive(record):
        _signal(record, signal.SIGKILL if kill else signal.SIGTERM)
        if not _wait_gone(record, timeout):
            _signal(record, signal.SIGKILL)
            _wait_gone(record, 5.0)
    _reap(record.pid)
    if run_dir is not None:
        (run_dir / record.pid_file).unlink(missing_ok=True)


def _signal(record: ProcessRecord, sig: signal.Signals) -> None:
    # Recheck identity right before signalling: the window for a recycled PID is tiny.
    if is_alive(record):
        try:
            os.kill(record.pid, sig)
        except ProcessLookupError:
            pass


def _wait_gone(record: ProcessRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    child = _CHILDREN.get(record.pid)
    while time.monotonic() < deadline:
        if child is not None:
            try:
                child.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            _reap(record.pid)
            return True
        if not is_alive(record):
            return True
        time.sleep(0.05)
    return not is_alive(record)
