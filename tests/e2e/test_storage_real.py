"""A DLWS job's world on the real node (issue 27): /data, /work and /job of the cluster's
storage (here a directory of the cluster's state, as `make dev` configures it), the cmd
under bash as the job's user with a writable HOME, and a memory-backed /dev/shm as large
as the job's memory limit. Every /child call is made from inside the parent's container."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
from kubernetes.aio import client

from devcluster.layout import Layout
from dlws_contract import resource
from tests.conftest import ClusterAccess
from tests.e2e.containers import call_from, collector_root, detail_when, logs, run_python, submit_from
from tests.integration.jobs import Jobs

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
    for param, value in (("workPath", "../bob"), ("dataPath", "/etc"), ("jobPath", "a\\.b")):
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
    assert not (storage / "work/bob").exists() and not (storage / "storage/etc").exists()
    assert not list(storage.glob("work/alice/**/a\\.b"))
