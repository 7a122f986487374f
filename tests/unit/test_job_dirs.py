"""The init container's shell that makes a job's directories in its user's tree
(pod_spec.DIRS_INIT), run here on a scratch directory in place of the mounted tree."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dlws_operator.pod_spec import DIRS_INIT, DIRS_MOUNT

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root, as in the init container")


def make_dirs(tree: Path, owner: str, *paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", "-c", DIRS_INIT.replace(DIRS_MOUNT, str(tree)), "dlws-dirs", owner,
                           *paths], capture_output=True, text=True, timeout=10, check=False)


def test_the_users_new_tree_and_the_directories_made_are_the_users(tmp_path: Path) -> None:
    tree = tmp_path / "alice"
    tree.mkdir()  # as the kubelet makes it: root's, empty
    assert make_dirs(tree, "1000:2000", ".", "jobs/261207/0b7e").returncode == 0
    for d in (tree, tree / "jobs", tree / "jobs/261207", tree / "jobs/261207/0b7e"):
        assert d.stat().st_uid == 1000 and d.stat().st_gid == 2000, d


def test_what_exists_is_left_as_it_is(tmp_path: Path) -> None:
    tree = tmp_path / "alice"
    (tree / "shared").mkdir(parents=True)  # root's, not empty: not the kubelet's fresh one
    assert make_dirs(tree, "1000:1000", "shared/mine").returncode == 0
    assert tree.stat().st_uid == 0 and (tree / "shared").stat().st_uid == 0
    assert (tree / "shared/mine").stat().st_uid == 1000


def test_a_path_through_a_symlink_is_refused_and_nothing_is_made_or_chowned(tmp_path: Path) -> None:
    tree, elsewhere = tmp_path / "alice", tmp_path / "bob"
    tree.mkdir()
    elsewhere.mkdir()
    (tree / "link").symlink_to(elsewhere)
    done = make_dirs(tree, "1000:1000", "link/x")
    assert done.returncode == 1 and "symbolic link" in done.stderr
    assert list(elsewhere.iterdir()) == [] and elsewhere.stat().st_uid == 0


def test_two_jobs_making_the_same_day_directory_both_succeed(tmp_path: Path) -> None:
    tree = tmp_path / "alice"
    tree.mkdir()
    runs = [subprocess.Popen(["/bin/sh", "-c", DIRS_INIT.replace(DIRS_MOUNT, str(tree)), "d", "1000:1000",
                              f"jobs/261207/job{i}"]) for i in range(8)]
    assert [r.wait(10) for r in runs] == [0] * 8
    assert len(list((tree / "jobs/261207").iterdir())) == 8
