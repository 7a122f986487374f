"""The job's init shell (pod_spec.JOB_INIT), run as PID 1 of a fresh PID namespace, as in
a container. Never outside one: its `kill -1` would reach every process it may signal."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from dlws_operator.pod_spec import job_command

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                reason="needs root and unshare for a PID namespace")


def start(cmd: str, log: Path | None = None) -> subprocess.Popen[str]:
    """The init with its copy of the output in `log` (default: a fresh temporary file)."""
    log = log or Path(tempfile.mkdtemp()) / "logs" / "joblog.txt"
    return subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", *job_command(cmd, str(log))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def init_pid(unshare: subprocess.Popen[str]) -> int:
    """The host PID of the namespace's PID 1 (unshare's only child)."""
    children = Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children")
    for _ in range(100):
        pids = children.read_text().split()
        if pids:
            return int(pids[0])
        time.sleep(0.02)
    raise AssertionError("no init process")


@pytest.mark.parametrize(("cmd", "code"), [("exit 3", 3), ("true", 0), ("sleep 60 & exit 0", 0)])
def test_the_cmds_own_status_is_the_containers(cmd: str, code: int) -> None:
    assert start(cmd).wait(10) == code


def test_sigterm_reaches_a_cmd_that_does_not_trap_it() -> None:
    proc = start("echo ready; sleep 600 & sleep 600")
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    os.kill(init_pid(proc), signal.SIGTERM)
    assert proc.wait(5) == 128 + signal.SIGTERM


def descendants(pid: int) -> list[int]:
    kids = [int(k) for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return kids + [d for k in kids for d in descendants(k)]


def running_sleep(init: int) -> bool:
    """A SIGTERM sent while a shell is between fork and exec of a background command is
    taken by the shell's handler in the child and lost; wait until `sleep` really runs."""
    return any(Path(f"/proc/{p}/comm").read_text().strip() == "sleep" for p in descendants(init))


def test_a_cmd_that_traps_sigterm_finishes_its_handler_first() -> None:
    proc = start("trap 'sleep 0.5; echo cleaned up; exit 0' TERM; echo ready; sleep 600 & wait")
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    init = init_pid(proc)
    for _ in range(250):
        if running_sleep(init):
            break
        time.sleep(0.02)
    os.kill(init, signal.SIGTERM)
    proc.wait(5)
    assert proc.stdout.read() == "cleaned up\n"


def test_the_cmd_runs_under_bash_when_there_is_one() -> None:
    if shutil.which("bash") is None:
        pytest.skip("no bash here")
    assert start("[[ -n $BASH_VERSION ]] && exit 7").wait(10) == 7


def test_without_bash_the_cmd_runs_under_sh() -> None:
    # No PATH to find bash by: the init falls back to /bin/sh (dash has no $BASH_VERSION).
    if "bash" in os.path.realpath("/bin/sh"):
        pytest.skip("/bin/sh is bash here")
    unshare = shutil.which("unshare")
    assert unshare is not None
    done = subprocess.run([unshare, "--pid", "--fork", "--mount-proc",
                           *job_command('[ -z "$BASH_VERSION" ] && exit 5')],
                          env={"PATH": "/nonexistent"}, timeout=10, check=False)
    assert done.returncode == 5


def test_the_log_keeps_a_copy_of_both_streams_and_the_container_still_gets_them(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "joblog.txt"
    proc = start("echo out; echo err >&2; exit 4", log)
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, out, err) == (4, "out\n", "err\n")
    assert sorted(log.read_text().splitlines()) == ["err", "out"]


def test_what_a_killed_job_prints_on_sigterm_is_in_its_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "joblog.txt"
    proc = start("trap 'echo bye; exit 0' TERM; echo ready; sleep 600 & wait", log)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    init = init_pid(proc)
    for _ in range(100):
        if running_sleep(init):
            break
        time.sleep(0.02)
    os.kill(init, signal.SIGTERM)
    proc.wait(10)
    assert log.read_text() == "ready\nbye\n"


def test_without_a_writable_log_the_cmd_runs_as_before(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    proc = start("echo hi", tmp_path / "file" / "logs" / "joblog.txt")
    assert proc.communicate(timeout=10) == ("hi\n", "") and proc.returncode == 0
