"""Every Python sample of the seed document (job-families.md), run unchanged (tabs
expanded) as a job would run it: a subprocess whose FAMILY_TOKEN and DLWS_REST_API are
those the operator gave a real root job's Pod, talking to a real shim."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes.aio import client

from dlws_contract import kill_record, resource
from examples.seed_samples import DOC_CANDIDATES, SAMPLES, program
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import Root, ShimClient, make_root

pytestmark = pytest.mark.cluster

def test_samples_are_the_documents() -> None:
    doc = next((p for p in DOC_CANDIDATES if p.is_file()), None)
    if doc is None:
        pytest.skip("the seed document is not beside this checkout")
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)
    assert [b.expandtabs(4) for b in blocks] == list(SAMPLES.values())


async def run_sample(root: Root, sample: str, call: str) -> tuple[str, list[Any]]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "FAMILY_TOKEN", "DLWS_REST_API")}
    # Exactly what the operator put in the root's Pod.
    env.update(FAMILY_TOKEN=root.token, DLWS_REST_API=root.rest_api)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", program(sample, call), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    handler, args = json.loads(out.decode().strip().splitlines()[-1])
    return handler, args


async def test_seed_samples_submit_detail_ip_and_kill(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any, http: Any, extra_shim: Any) -> None:
    root = await make_root(api, namespace)
    assert root.rest_api == shim.url and root.rest_api.endswith("/")
    jobs = Jobs(api, namespace)

    handler, args = await run_sample(root, "submit_child", "submit_child(_err, _ok)")
    assert handler == "success", args
    (child_id,) = args
    child = await jobs.get(child_id)
    assert child is not None
    assert child["metadata"]["labels"][resource.LABEL_PARENT] == root.name
    assert child["spec"]["interactivePorts"] == [8888]

    handler, (detail,) = await run_sample(root, "job_detail", f"job_detail({child_id!r}, _ok)")
    assert detail["jobId"] == child_id and detail["jobName"] == "tensorflow-ipython-cpu"
    assert detail["parentJobId"] == root.name and detail["jobStatus"] in ("queued", "scheduling", "running")

    running = await jobs.running_with_ip(child_id)
    handler, args = await run_sample(root, "job_ip", f"job_ip({child_id!r}, _ok, _err)")
    assert (handler, args) == ("success", [running["status"]["podIP"]])

    # A grandchild, so the kill is seen to take the whole subtree.
    grandchild_id = (await ShimClient(http, shim.url).submit(root.token, parentJobId=child_id))["jobId"]
    await eventually(lambda: _pod(jobs, grandchild_id), what="grandchild's pod")

    handler, _ = await run_sample(root, "kill_job", f"kill_job({child_id!r}, _err, _ok)")
    assert handler == "success"
    for gone in (child_id, grandchild_id):
        await eventually(lambda: _absent(jobs, gone), timeout=60, what=f"{gone} and its pod gone")
    assert await jobs.get(root.name) is not None  # the caller's own job is untouched
    # Killed stays visible once the collector is done, also to a shim started afterwards
    # (as after a restart): the kill's one record is read from the API server.
    for url in (shim.url, extra_shim().url):
        calls = ShimClient(http, url)
        for job_id in (child_id, grandchild_id):
            _, detail, _ = await calls.call("JobDetail", root.token, jobId=job_id)
            assert (detail["jobStatus"], detail["killedBy"], detail["jobId"]) == ("killed", child_id, job_id)
            _, ip, _ = await calls.call("GetJobIP", root.token, jobId=job_id)
            assert "was killed at" in ip["error"]
    records = await client.CoreV1Api(api).list_namespaced_config_map(namespace, label_selector=kill_record.SELECTOR)
    assert [r.metadata.name for r in records.items] == [kill_record.record_name(child_id)]
    assert root.token not in json.dumps(api.sanitize_for_serialization(records))


async def test_seed_sample_job_ip_reports_an_unknown_job_to_its_error_handler(
        api: client.ApiClient, namespace: str, operator: Any, shim: Any) -> None:
    root = await make_root(api, namespace)
    handler, args = await run_sample(root, "job_ip", "job_ip('no-such-job', _ok, _err)")
    assert (handler, args) == ("error", ["no-such-job"])


async def _pod(jobs: Jobs, name: str) -> bool:
    return any(p.metadata.name == name for p in await jobs.pods())


async def _absent(jobs: Jobs, name: str) -> bool:
    return await jobs.get(name) is None and not await _pod(jobs, name)
