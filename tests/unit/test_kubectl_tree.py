"""kubectl dlws tree: a family drawn from its DLWSJobs, pure (dlws_kubectl.tree_view), and
the plugin's flags."""
from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, strategies as st
from kubernetes.aio.client.exceptions import ApiException

from api_shim.detail import job_detail
from dlws_contract import resource
from dlws_kubectl import cli, connection, family
from dlws_kubectl.age import human_age
from dlws_kubectl.tree_view import LOOP_NOTE, ORPHANS_NOTE, job_view, render

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def job(name: str, parent: str | None = None, *, minutes_ago: float = 5, deleting: bool = False,
        gpus: int | None = 0, **status: Any) -> dict[str, Any]:
    created = NOW - datetime.timedelta(minutes=minutes_ago)
    labels = {resource.LABEL_ROOT: "root"} | ({resource.LABEL_PARENT: parent} if parent else {})
    meta: dict[str, Any] = {"name": name, "labels": labels, "resourceVersion": "1",
                            "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if deleting:
        meta["deletionTimestamp"] = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    spec: dict[str, Any] = {"jobName": f"{name}-job"} | ({"resourcegpu": gpus} if gpus is not None else {})
    return {"metadata": meta, "spec": spec, "status": status}


def names_drawn(lines: list[str]) -> list[str]:
    """The job name of every job line (the first word after the tree's drawing)."""
    return [line.lstrip("│├└─ ").split()[0] for line in lines[1:]
            if line not in (ORPHANS_NOTE, LOOP_NOTE) and not line.rstrip().endswith("(gone)")]


def test_a_three_level_family_is_a_tree_with_aligned_columns() -> None:
    jobs = [job("root", minutes_ago=10, phase="Running", podIP="10.0.0.1"),
            job("mid", "root", minutes_ago=8, phase="Running", podIP="10.0.0.2", gpus=2),
            job("leaf", "mid", minutes_ago=1.5, phase="Pending"),
            job("second", "root", minutes_ago=0.5)]
    assert render(jobs, NOW, focus="mid") == [
        "JOB          JOB NAME     STATUS       IP         GPUS   AGE",
        "root         root-job     running      10.0.0.1   0      10m",
        "├─ mid ◀     mid-job      running      10.0.0.2   2      8m",
        "│  └─ leaf   leaf-job     scheduling   <none>     0      90s",
        "└─ second    second-job   queued       <none>     0      30s",
    ]


def test_children_are_drawn_oldest_first_whatever_order_they_come_in() -> None:
    jobs = [job("c", "root", minutes_ago=1), job("a", "root", minutes_ago=3),
            job("root", minutes_ago=9), job("b", "root", minutes_ago=2)]
    assert names_drawn(render(jobs, NOW)) == ["root", "a", "b", "c"]


@pytest.mark.parametrize("phase", [None, "Pending", "Running", "Succeeded", "Failed", "Killing", "Bogus"])
@pytest.mark.parametrize("deleting", [False, True])
def test_the_status_is_the_word_job_detail_answers(phase: str | None, deleting: bool) -> None:
    obj = job("root", deleting=deleting, **({"phase": phase} if phase else {}))
    assert job_view(obj).status == job_detail(obj)["jobStatus"]


def test_jobs_being_killed_show_killing_before_the_operator_writes_it() -> None:
    lines = render([job("root", phase="Running"), job("mid", "root", phase="Running", deleting=True),
                    job("leaf", "mid", phase="Running", deleting=True)], NOW)
    assert [line.split()[-4] for line in lines[1:]] == ["running", "killing", "killing"]


def test_gpus_default_to_zero_as_the_crd_says() -> None:
    assert render([job("root", gpus=None)], NOW)[1].split()[-2] == "0"


def test_orphans_are_drawn_under_their_gone_parent_after_a_note() -> None:
    jobs = [job("root", minutes_ago=9), job("kept", "root"),
            job("orphan-b", "gone-mid", minutes_ago=2), job("orphan-a", "gone-mid", minutes_ago=3),
            job("grandchild", "orphan-a", minutes_ago=1)]
    lines = render(jobs, NOW)
    at = lines.index(ORPHANS_NOTE)
    assert [line.split()[0] for line in lines[1:at]] == ["root", "└─"]
    assert lines[at + 1].rstrip() == "gone-mid (gone)"
    assert [line[:18].rstrip() for line in lines[at + 2:]] == [
        "├─ orphan-a", "│  └─ grandchild", "└─ orphan-b"]


def test_a_family_whose_root_is_gone_is_all_orphans() -> None:
    lines = render([job("mid", "root"), job("leaf", "mid")], NOW, focus="leaf")
    assert lines[1] == ORPHANS_NOTE and lines[2] == "root (gone)"
    assert lines[3].startswith("└─ mid ") and lines[4].startswith("   └─ leaf ◀ ")


def test_jobs_whose_parent_labels_loop_are_still_drawn() -> None:
    lines = render([job("root"), job("x", "y"), job("y", "x", minutes_ago=6)], NOW)
    at = lines.index(LOOP_NOTE)
    assert names_drawn(lines[at:]) == ["y", "x"] and lines[at + 2].startswith("└─ x")


ages = [(0, "0s"), (-3, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (272, "4m32s"),
        (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (5 * 3600 + 60, "5h1m"),
        (47 * 3600, "47h"), (2 * 86400 + 3600, "2d1h"), (9 * 86400, "9d"),
        (3 * 365 * 86400 + 86400, "3y1d"), (10 * 365 * 86400, "10y")]


@pytest.mark.parametrize("seconds,text", ages)
def test_age_is_printed_as_kubectl_prints_it(seconds: float, text: str) -> None:
    assert human_age(seconds) == text


names = st.sampled_from([f"j{i}" for i in range(12)])


@given(st.dictionaries(names, st.one_of(st.none(), names, st.sampled_from(["gone-1", "gone-2"]))),
       st.one_of(st.none(), names))
def test_every_job_is_drawn_exactly_once_whatever_its_labels(parents: dict[str, str | None],
                                                             focus: str | None) -> None:
    jobs = [job(name, parent, minutes_ago=i) for i, (name, parent) in enumerate(parents.items())]
    lines = render(jobs, NOW, focus)
    assert sorted(names_drawn(lines)) == sorted(parents)
    assert sum("◀" in line for line in lines) == (focus in parents)
    starts = [lines[0].index(title) for title in ("JOB NAME", "STATUS", "IP", "GPUS", "AGE")]
    for line in lines[1:]:
        if line not in (ORPHANS_NOTE, LOOP_NOTE) and not line.endswith("(gone)"):
            assert all(line[at - 1] == " " and line[at] != " " for at in starts), line


def test_a_job_listed_by_the_root_label_or_else_added_once() -> None:
    root = job("root")
    del root["metadata"]["labels"][resource.LABEL_ROOT]  # the operator has not labelled it yet
    assert family.family_root(root) == "root" and family.family_root(job("leaf", "mid")) == "root"
    assert family.with_job([job("a", "root")], root) == [job("a", "root"), root]
    assert family.with_job([job("a", "root"), root], root) == [job("a", "root"), root]
    assert family.root_selector("r1") == "dlworkspace.io/root=r1"


def test_a_snapshot_is_new_only_when_a_job_changed() -> None:
    a, b = job("a"), job("b")
    changed = job("b")
    changed["metadata"]["resourceVersion"] = "2"
    assert family.versions([a, b]) == family.versions([b, a])
    assert family.versions([a, b]) != family.versions([a, changed])
    assert family.versions([a, b]) != family.versions([a])


def test_the_namespace_is_the_contexts_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    cluster = {"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}
    config = {"apiVersion": "v1", "kind": "Config", "clusters": [cluster], "users": [{"name": "u", "user": {}}],
              "contexts": [{"name": "plain", "context": {"cluster": "c", "user": "u"}},
                           {"name": "team", "context": {"cluster": "c", "user": "u", "namespace": "team-ns"}}],
              "current-context": "plain"}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    assert connection.default_namespace(str(path), None) == "default"
    assert connection.default_namespace(str(path), "team") == "team-ns"


def test_help_of_the_plugin_and_of_tree(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["tree", "--help"]):
        with pytest.raises(SystemExit) as exit:
            cli.parser().parse_args(argv)
        assert exit.value.code == 0
    out = capsys.readouterr().out
    assert "usage: kubectl dlws [-h] COMMAND" in out and "usage: kubectl dlws tree" in out
    assert "whole family of JOB" in out and "--watch" in out and "--context" in out


@pytest.mark.parametrize("argv,says", [(["bogus"], "invalid choice: 'bogus' (choose from 'tree')"),
                                       ([], "required: COMMAND"), (["tree"], "required: JOB")])
def test_a_wrong_command_line_says_what_is_wrong(argv: list[str], says: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main(argv)
    assert exit.value.code == 2 and says in capsys.readouterr().err


def test_a_watch_into_a_pipe_ends_each_drawing_with_a_blank_line_a_terminal_draws_in_place() -> None:
    piped, terminal = io.StringIO(), io.StringIO()
    cli.draw(piped, [job("root")], "root", clear=False, apart=True)
    cli.draw(terminal, [job("root")], "root", clear=True, apart=False)
    assert piped.getvalue().startswith("JOB ") and piped.getvalue().endswith("\n\n")
    assert terminal.getvalue().startswith(cli.CLEAR_SCREEN) and not terminal.getvalue().endswith("\n\n")


def test_expected_errors_are_told_in_one_line_and_bugs_are_not_hidden() -> None:
    assert cli.failure(family.JobNotFound("ns", "x")) == 'DLWSJob "x" not found in namespace "ns"'
    assert cli.failure(ApiException(status=403, reason="Forbidden")) == "Forbidden"
    assert cli.failure(ConnectionRefusedError("refused")) == "cannot reach the API server: refused"
    assert cli.failure(KeyError("bug")) is None
