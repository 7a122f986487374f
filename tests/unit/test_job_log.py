"""JobDetail's log: the bound and the cut (dlws_contract.job_log), the storage's copy read
without following links (api_shim.job_log.stored_tail)."""
from __future__ import annotations

import os
from pathlib import Path

from api_shim.job_log import log_file, stored_tail
from dlws_contract.job_log import LOG_BYTES, LOG_LINES, tail


def numbered(n: int) -> bytes:
    return b"".join(b"line %d\n" % i for i in range(1, n + 1))


def test_the_tail_keeps_the_last_lines_whole() -> None:
    assert tail(b"") == ""
    assert tail(numbered(3)) == "line 1\nline 2\nline 3\n"
    text = tail(numbered(1000))
    assert text.splitlines() == [f"line {i}" for i in range(1001 - LOG_LINES, 1001)]


def test_the_tail_is_cut_to_its_bytes_at_a_line_start() -> None:
    long = b"".join(b"%05d %s\n" % (i, b"x" * 200) for i in range(400))  # ~82 KB, fewer lines than the bound
    text = tail(long)
    assert len(text.encode()) <= LOG_BYTES and text.endswith("x\n")
    assert all(len(line) == 206 for line in text.splitlines())
    one_line = b"y" * (LOG_BYTES * 2)
    assert tail(one_line) == "y" * LOG_BYTES
    assert tail(b"\xff\xfeok\n") == "\ufffd\ufffdok\n"


def test_a_stored_log_is_read_from_its_end(tmp_path: Path) -> None:
    (tmp_path / "work/alice/jobs/logs").mkdir(parents=True)
    (tmp_path / "work/alice/jobs/logs/joblog.txt").write_bytes(numbered(20000))
    text = stored_tail(str(tmp_path), "work/alice/jobs/logs/joblog.txt")
    assert text is not None and text.endswith("line 20000\n") and text.startswith("line ")
    assert len(text.splitlines()) <= LOG_LINES and len(text.encode()) <= LOG_BYTES
    assert stored_tail(str(tmp_path), "work/alice/none/logs/joblog.txt") is None


def test_a_stored_log_behind_a_symbolic_link_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("not the job's\n")
    (tmp_path / "work/alice/a/logs").mkdir(parents=True)
    os.symlink(secret, tmp_path / "work/alice/a/logs/joblog.txt")
    os.symlink(tmp_path / "work/alice/a", tmp_path / "work/alice/b")
    (tmp_path / "work/alice/c/logs").mkdir(parents=True)
    os.mkfifo(tmp_path / "work/alice/c/logs/joblog.txt")
    for job in ("a", "b", "c"):
        assert stored_tail(str(tmp_path), f"work/alice/{job}/logs/joblog.txt") is None


def test_the_log_file_is_under_the_jobs_own_path() -> None:
    obj = {"metadata": {"name": "j1", "creationTimestamp": "2026-12-08T01:02:03Z"},
           "spec": {"userName": "alice", "dataPath": "d"}}
    assert log_file(obj) == "work/alice/jobs/261208/j1/logs/joblog.txt"
    assert log_file({**obj, "spec": {"userName": "alice", "jobPath": "../x"}}) is None
