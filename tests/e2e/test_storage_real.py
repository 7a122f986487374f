"""A DLWS job's world on the real node (issue 27): /data, /work and /job of the cluster's
storage (here a directory of the cluster's state, as `make dev` configures it), the cmd
under bash as the job's user with a writable HOME, and a memory-backed /dev/shm as large
as the job's memory limit. Every /child call is made from inside the parent's container."""
from __future__ import annotations

import asyncio
import datetime
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.aio import client

from devcluster import demo
from devcluster.binaries import JOB_IMAGE
from devcluster.layout import Layout
from dlws_contract import resource
from tests.conftest import ClusterAccess
from tests.e2e.containers import call_from, collector_root, detail_when, logs, run_python, run_sample, submit_from
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import Root

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.cluster, pytest.mark.real_node]

# The child's cmd: bash-only syntax first ([[ ]] fails under dash), then what it finds.
CHILD = r"""[[ -n "$BASH_VERSION" ]] && echo "shell bash"
echo "uid $(id -u)"
echo "home $HOME"
touch "$HOME/.probe" && echo "home writable"
echo "root says $(cat /work/from-root.txt)"
echo "child's job file" > /job/out.txt
echo "child's work file" > /work/from-child.txt
echo "shm $(df -B1 --output=size /dev/shm | tail -1)"
"""

# Run by the root, in its container, as its user: what it sees of the child's files.
ROOT_READS = """
import json, os, sys
job_dir = sys.argv[1]
seen = {}
for path in (job_dir, job_dir + "/out.txt", "/work/from-child.txt"):
    st = os.stat(path)
    seen[path] = {"uid": st.st_uid, "text": None if os.path.isdir(path) else open(path).read()}
print(json.dumps(seen))
"""


async def test_a_parent_and_its_child_share_work_and_the_parent_finds_the_childs_job(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str, real_operator: Any) -> None:
    ns = real_namespace
    root, _ = await collector_root(real_api, ns)  # alice, uid 1000, runningasroot off
    await run_python(real_cluster, ns, root.name, "open('/work/from-root.txt', 'w').write('hello child')")

    # DLWS's path rules, refused before anything is made (naming the parameter).
    for param, value in (("workPath", "../nobody"), ("dataPath", "/etc"), ("jobPath", "a\\.b")):
        job = {"jobName": "bad", "resourcegpu": 0, "dataPath": "data", "image": "x", "jobType": "training",
               param: value}
        status, body = await call_from(real_cluster, root, "SubmitJob", **job)
        assert status == 200 and body.get("error", "").startswith(param), body

    child = await submit_from(real_cluster, root, cmd=CHILD, runningasroot=0)
    done = await detail_when(real_cluster, root, child, "finished", "failed")
    out = await logs(real_cluster, ns, child)
    assert done["jobStatus"] == "finished", json.dumps(done) + "\n" + out
    params = done["jobParams"]
    assert params["workPath"] == "alice" and params["dataPath"] == "data"
    match = re.fullmatch(rf"alice/jobs/(\d{{6}})/{child}", params["jobPath"])
    assert match, params["jobPath"]

    assert "shell bash" in out
    assert "uid 1000" in out and "home /job" in out and "home writable" in out
    assert "root says hello child" in out  # /work is shared
    shm = int(re.search(r"^shm (\d+)$", out, re.M).group(1))  # type: ignore[union-attr]
    assert shm > 64 << 20, out  # larger than the runtime's 64 MB
    assert shm >= 2_560_000_000 // 4096 * 4096 - 4096, out  # as large as its memory limit (2560M)

    # The parent finds the child's /job under its own /work/jobs/<yymmdd>/<jobId>/, and
    # every file the child wrote is the user's.
    job_dir = f"/work/jobs/{match.group(1)}/{child}"
    seen = json.loads((await run_python(real_cluster, ns, root.name, ROOT_READS, job_dir)).strip().splitlines()[-1])
    assert seen[job_dir]["uid"] == 1000
    assert seen[f"{job_dir}/out.txt"] == {"uid": 1000, "text": "child's job file\n"}
    assert seen["/work/from-child.txt"] == {"uid": 1000, "text": "child's work file\n"}

    # The refused paths made nothing: no DLWSJob, no directory (the storage is this
    # machine's directory, as make dev configures it).
    family = await Jobs(real_api, ns).list_jobs(f"{resource.LABEL_ROOT}={root.name}")
    assert sorted(j["metadata"]["name"] for j in family) == sorted([root.name, child])
    storage = Layout.at(real_cluster.kubeconfig.parent).job_storage_dir
    assert (storage / "work/alice" / job_dir.removeprefix("/work/") / "out.txt").is_file()
    assert not (storage / "work/nobody").exists() and not (storage / "storage/etc").exists()
    assert not list(storage.glob("work/alice/**/a\\.b"))


def applied_sample(namespace: str) -> str:
    """manifests/samples/root-job.yaml as a GitOps overlay would apply it: into the test's
    namespace, with the job image this node has (no registry here)."""
    doc = yaml.safe_load((REPO / "manifests/samples/root-job.yaml").read_text())
    doc["metadata"]["namespace"] = namespace
    doc["spec"]["image"] = JOB_IMAGE.ref
    return yaml.safe_dump(doc)


# A child's view of the shared datasets and of its /work, for the tests below.
READS_DATA = 'echo "data $(cat /data/marker)"'
PLANT = """
import os, sys
open("/work/" + sys.argv[1], "w").write("alice's")
os.symlink(sys.argv[2], "/work/escape")   # out of the storage, by the host's path
os.symlink("../bob", "/work/tobob")        # into another user's tree of the storage
"""


async def test_gitops_root_mounts_data_is_shared_users_are_apart_and_planted_symlinks_lead_nowhere(
        real_cluster: ClusterAccess, real_api: client.ApiClient, real_namespace: str, real_operator: Any,
        tmp_path: Path) -> None:
    ns = real_namespace
    storage = Layout.at(real_cluster.kubeconfig.parent).job_storage_dir
    marker = uuid.uuid4().hex
    (storage / "storage/imagenet").mkdir(parents=True, exist_ok=True)  # a dataset, as its owner puts it
    (storage / "storage/imagenet/marker").write_text(marker)

    # The document's GitOps root (alice, uid 1000, dataPath imagenet), applied by kubectl.
    real_cluster.kubectl("apply", "-f", "-", input=applied_sample(ns))
    await Jobs(real_api, ns).running_with_ip("sample-root")
    root = Root(name="sample-root", namespace=ns, uid="", digest="", token="", rest_api="", env={})
    mine = f"from-alice-{marker[:8]}.txt"
    await run_python(real_cluster, ns, root.name, PLANT, mine, str(tmp_path))
    seen = await run_python(real_cluster, ns, root.name,
                            "import os; open('/job/out.txt', 'w').write('x'); print(open('/data/marker').read())")
    assert seen.strip() == marker
    day = datetime.datetime.now(datetime.UTC).strftime("%y%m%d")  # created just now
    job_dir = storage / "work/alice/jobs" / day / "sample-root"
    assert (job_dir / "out.txt").stat().st_uid == 1000 and (storage / "work/alice" / mine).is_file()

    # The document's submit sample, verbatim but for its image (make demo's swap): its
    # child runs the document's cmd, Jupyter from HOME=/job on its interactivePort.
    handler, args = await run_sample(real_cluster, ns, root.name, "submit_child", "submit_child(_err, _ok)",
                                     demo.REAL_NODE_CHILD)
    assert handler == "success", args
    notebook = str(args[0])

    # Two children naming the same dataset see the same /data; a workPath and a jobPath
    # through the planted symlinks are refused before anything is made or mounted.
    shared = [await submit_from(real_cluster, root, dataPath="imagenet", cmd=READS_DATA) for _ in range(2)]
    escape = await submit_from(real_cluster, root, workPath="escape/sub", cmd="echo ran")
    to_bob = await submit_from(real_cluster, root, jobPath="tobob/x", cmd="echo ran")

    # Another user's family (bob, uid 1001) naming workPath "alice" gets its own bob/alice.
    bob, _ = await collector_root(real_api, ns, userName="bob", userId=1001)
    nosy = await submit_from(real_cluster, bob, workPath="alice",
                             cmd=f'ls -A /work; [[ -e /work/{mine} ]] || echo "alice unseen"')

    for child in shared:
        done = await detail_when(real_cluster, root, child, "finished", "failed")
        assert done["jobStatus"] == "finished" and f"data {marker}" in await logs(real_cluster, ns, child), done
    for child in (escape, to_bob):
        done = await detail_when(real_cluster, root, child, "finished", "failed")
        assert done["jobStatus"] == "failed" and "symbolic link" in done["errorMsg"], done
        pod = await client.CoreV1Api(real_api).read_namespaced_pod(child, ns)
        [job] = pod.status.container_statuses
        assert job.state.terminated is None and job.state.running is None, job  # it never started
    done = await detail_when(real_cluster, bob, nosy, "finished", "failed")
    assert done["jobStatus"] == "finished" and done["jobParams"]["workPath"] == "bob/alice", done
    assert (await logs(real_cluster, ns, nosy)).strip() == "alice unseen"

    # The root fetches the notebook's port at the IP the document's GetJobIP sample answers.
    async def notebook_answers() -> list[Any] | None:
        handler, got = await run_sample(real_cluster, ns, root.name, "job_ip", f"job_ip({notebook!r}, _ok, _err)")
        if handler != "success":
            return None
        result = await asyncio.to_thread(real_cluster.kubectl, "exec", "-i", "-n", ns, root.name, "--",
                                         "python3", "-", str(got[0]), notebook, input=demo.FETCH, check=False)
        fetched = json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else None
        return fetched if fetched and fetched[0] == 200 else None
    status, url, home, made = await eventually(notebook_answers, timeout=180, interval=1.0, what="Jupyter")
    assert url.endswith(":8888/login") and home == f"/work/jobs/{day}/{notebook}", (url, home)
    assert ".local" in made  # Jupyter's own files, in its HOME: the child's /job

    assert list(tmp_path.iterdir()) == []  # nothing made outside the storage
    assert not (storage / "work/bob/x").exists() and (storage / "work/bob").stat().st_uid == 1001
