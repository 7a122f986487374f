"""kubectl dlws tree: the installed plugin, on a real family of 3 levels (root, a child
submitted through the shim, its child), run as an identity that may only get, list and
watch DLWSJobs, and list and watch ConfigMaps (the kill records)."""
from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from kubernetes.aio import client
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import resource
from tests.integration.identities import kubeconfig_for
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster

PLUGIN = Path(sys.executable).parent / "kubectl-dlws"  # the console script of setup.cfg
COLUMNS = ("JOB NAME", "STATUS", "IP", "GPUS", "AGE")
HOLD = "dlws.test/hold"  # a finalizer of ours: keeps a killed job in sight until we let go
READER_RBAC = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: tree-reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: dlwsjob-reader}
rules:
- apiGroups: [dlworkspace.io]
  resources: [dlwsjobs]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: tree-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: dlwsjob-reader}
subjects: [{kind: ServiceAccount, name: tree-reader}]
"""


@dataclass(frozen=True)
class Family:
    root: str
    child: str
    grandchild: str
    token: str
    ips: dict[str, str]


@pytest_asyncio.fixture(loop_scope="session")
async def family(api: client.ApiClient, namespace: str, operator: Any, shim: Any, http: Any) -> Family:
    """sample-root -> trainer (2 GPUs) -> worker (1 GPU), all running with pod IPs."""
    root = await make_root(api, namespace, "sample-root", jobName="sample-root")
    shim_client = ShimClient(http, shim.url)
    child = (await shim_client.submit(root.token, jobName="trainer", resourcegpu=2))["jobId"]
    grandchild = (await shim_client.submit(root.token, jobName="worker", resourcegpu=1,
                                           parentJobId=child))["jobId"]
    jobs = Jobs(api, namespace)
    ips = {name: (await jobs.running_with_ip(name))["status"]["podIP"] for name in (root.name, child, grandchild)}
    return Family(root.name, child, grandchild, root.token, ips)


@pytest.fixture
def reader(cluster: Any, namespace: str, tmp_path: Path) -> Path:
    """A kubeconfig of a ServiceAccount allowed only get, list and watch on dlwsjobs."""
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=READER_RBAC)
    token = cluster.kubectl("create", "token", "tree-reader", "-n", namespace).stdout.strip()
    return kubeconfig_for(cluster.kubeconfig, "tree-reader", token, tmp_path / "reader.kubeconfig")


def plugin_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return env | extra


async def run(*argv: str, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*argv, env=dict(env or plugin_env()),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def table(lines: list[str]) -> dict[str, dict[str, str]]:
    """A drawing's job lines by job name: the tree's drawing and each column, as printed."""
    starts = [lines[0].index(title) for title in COLUMNS]
    assert lines[0].split() == ["JOB", "JOB", "NAME", "STATUS", "IP", "GPUS", "AGE"]
    rows = {}
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip([0, *starts], [*starts, None])]
        name = cells[0].lstrip("│├└─ ").removesuffix("◀").strip()
        rows[name] = dict(zip(("tree", "jobName", "status", "ip", "gpus", "age"), cells))
    return rows


def statuses(lines: list[str]) -> list[str]:
    """The status of each job, top to bottom; [] for what is not a drawing (the last words)."""
    if not lines or not lines[0].startswith("JOB "):
        return []
    return [row["status"] for row in table(lines).values()]


def assert_three_levels(out: str, fam: Family, focus: str) -> None:
    lines = out.splitlines()
    assert len(lines) == 4, out
    mark = {name: " ◀" if name == focus else "" for name in (fam.root, fam.child, fam.grandchild)}
    assert lines[1].startswith(f"{fam.root}{mark[fam.root]} "), out
    assert lines[2].startswith(f"└─ {fam.child}{mark[fam.child]} "), out
    assert lines[3].startswith(f"   └─ {fam.grandchild}{mark[fam.grandchild]} "), out
    rows = table(lines)
    assert {name: (row["jobName"], row["status"], row["ip"], row["gpus"]) for name, row in rows.items()} == {
        fam.root: ("sample-root", "running", fam.ips[fam.root], "0"),
        fam.child: ("trainer", "running", fam.ips[fam.child], "2"),
        fam.grandchild: ("worker", "running", fam.ips[fam.grandchild], "1")}
    assert all(row["age"].endswith("s") or row["age"].endswith("m") for row in rows.values()), out


async def test_the_installed_plugin_draws_a_three_level_family(family: Family, namespace: str,
                                                              reader: Path) -> None:
    code, out, err = await run(str(PLUGIN), "tree", family.child, "-n", namespace, "--kubeconfig", str(reader))
    print(f"\n$ kubectl dlws tree {family.child}\n{out}")  # the README's sample (pytest -s)
    assert (code, err) == (0, "")
    assert_three_levels(out, family, focus=family.child)


async def test_kubectl_runs_it_as_kubectl_dlws_with_its_kubeconfig(family: Family, namespace: str,
                                                                   reader: Path, cluster: Any) -> None:
    kubectl = cluster.bin_dir / "kubectl"
    path = os.pathsep.join([str(PLUGIN.parent), str(cluster.bin_dir), os.environ.get("PATH", "")])
    env = plugin_env(PATH=path, KUBECONFIG=str(reader))
    code, out, err = await run(str(kubectl), "plugin", "list", env=env)
    assert str(PLUGIN) in out, (out, err)
    code, out, err = await run(str(kubectl), "dlws", "tree", family.grandchild, "-n", namespace, env=env)
    assert (code, err) == (0, "")
    assert_three_levels(out, family, focus=family.grandchild)


async def test_context_flag_picks_the_context_and_its_namespace(family: Family, namespace: str,
                                                                reader: Path, tmp_path: Path) -> None:
    config = yaml.safe_load(reader.read_text())
    cluster_name = config["clusters"][0]["name"]
    config["users"].append({"name": "nobody", "user": {"token": "not-a-token"}})
    config["contexts"] = [{"name": "nobody", "context": {"cluster": cluster_name, "user": "nobody"}},
                          {"name": "reader", "context": {"cluster": cluster_name, "user": "tree-reader",
                                                         "namespace": namespace}}]
    config["current-context"] = "nobody"
    two = tmp_path / "two-contexts.kubeconfig"
    two.write_text(yaml.safe_dump(config))
    code, out, err = await run(str(PLUGIN), "tree", family.root, "--kubeconfig", str(two), "--context", "reader")
    assert (code, err) == (0, "")
    assert_three_levels(out, family, focus=family.root)
    code, out, err = await run(str(PLUGIN), "tree", family.root, "-n", namespace, "--kubeconfig", str(two))
    assert (code, out, err) == (1, "", "error: Unauthorized\n")


async def test_an_unknown_job_is_a_clear_error_and_exit_code_1(namespace: str, reader: Path) -> None:
    code, out, err = await run(str(PLUGIN), "tree", "no-such-job", "-n", namespace, "--kubeconfig", str(reader))
    assert (code, out, err) == (1, "", f'error: DLWSJob "no-such-job" not found in namespace "{namespace}"\n')


class Drawings:
    """The drawings a `--watch` prints into a pipe, each ended by a blank line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[list[str]] = []

    async def next(self) -> list[str]:
        assert self.proc.stdout is not None
        lines: list[str] = []
        while True:
            raw = await self.proc.stdout.readline()
            line = raw.decode().rstrip("\n")
            if not raw or (not line and lines):
                self.seen.append(lines)
                return lines
            if line:
                lines.append(line)

    async def until(self, what: str, pred: Any, timeout: float = 60) -> list[str]:
        async def look() -> list[str]:
            while True:
                lines = await self.next()
                if pred(lines):
                    return lines
                if not lines:
                    raise AssertionError(f"--watch ended before {what}: {self.seen}")
        try:
            return await asyncio.wait_for(look(), timeout)
        except TimeoutError:
            raise AssertionError(f"no drawing showed {what} in {timeout}s: {self.seen}") from None


async def let_go(jobs: Jobs, name: str) -> None:
    """Removes our finalizer only, as of the version read (the GC edits finalizers too)."""
    while True:
        job = await jobs.get(name)
        if job is None or HOLD not in (job["metadata"].get("finalizers") or []):
            return
        meta = job["metadata"]
        patch = {"metadata": {"resourceVersion": meta["resourceVersion"],
                              "finalizers": [f for f in meta["finalizers"] if f != HOLD]}}
        try:
            await jobs.custom.patch_namespaced_custom_object(
                resource.GROUP, resource.VERSION, jobs.ns, resource.PLURAL, name, patch,
                _content_type="application/merge-patch+json")
            return
        except ApiException as e:
            if e.status != 409:
                raise


async def test_watch_redraws_a_kill_as_it_happens(family: Family, namespace: str, reader: Path,
                                                  api: client.ApiClient, shim: Any, http: Any) -> None:
    jobs = Jobs(api, namespace)
    await jobs.custom.patch_namespaced_custom_object(
        resource.GROUP, resource.VERSION, namespace, resource.PLURAL, family.grandchild,
        {"metadata": {"finalizers": [HOLD]}}, _content_type="application/merge-patch+json")
    proc = await asyncio.create_subprocess_exec(
        str(PLUGIN), "tree", family.root, "-n", namespace, "--watch", "--kubeconfig", str(reader),
        env=plugin_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    drawings = Drawings(proc)
    try:
        first = await drawings.until("the family", lambda lines: len(statuses(lines)) == 3)
        assert statuses(first) == ["running"] * 3

        status, body, _ = await ShimClient(http, shim.url).call("KillJob", family.token, jobId=family.child)
        assert status == 200 and body["result"].startswith("Success"), body
        killing = await drawings.until(
            "the kill", lambda lines: statuses(lines) == ["running", "killing", "killing"])
        print("\n$ kubectl dlws tree --watch: the child killed, its child held by a finalizer\n"
              + "\n".join(killing))

        await let_go(jobs, family.grandchild)
        # Gone, and still drawn from the kill's record (kill_record.py).
        killed = await drawings.until("the killed jobs gone", lambda lines: statuses(lines) == [
            "running", "killed", "killed"] and all(table(lines)[name]["ip"] == "<none>" for name in (family.child, family.grandchild)))
        assert list(table(killed)) == [family.root, family.child, family.grandchild]
        assert await jobs.get(family.child) is None

        await jobs.delete(family.root)
        gone = await drawings.until("the end", lambda lines: bool(lines) and "is gone" in lines[0])
        assert gone == [f"the family of {family.root} is gone: no DLWSJob is left in it"]
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert proc.stderr is not None and await proc.stderr.read() == b""
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await let_go(jobs, family.grandchild)


async def test_a_job_whose_parent_is_gone_is_drawn_after_a_note(family: Family, namespace: str, reader: Path,
                                                                api: client.ApiClient) -> None:
    jobs = Jobs(api, namespace)
    await jobs.delete(family.child, policy="Orphan")  # its child stays, with its parent label

    async def parent_gone() -> bool:
        return await jobs.get(family.child) is None
    await eventually(parent_gone, what=f"{family.child} deleted")
    code, out, err = await run(str(PLUGIN), "tree", family.grandchild, "-n", namespace, "--kubeconfig", str(reader))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[1].startswith(f"{family.root} ") and lines[2:4] == [
        "orphans (their parent job is gone):", f"{family.child} (gone)"], out
    assert lines[4].startswith(f"└─ {family.grandchild} ◀ ") and len(lines) == 5, out
