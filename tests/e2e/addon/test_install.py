"""The add-on as a user installs it: `kubectl apply -k` of the local overlay, the operator
and the shim running as Pods behind their Services, and jobs using them by DNS name."""
from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from kubernetes.aio import client, watch

from devcluster import addon as installed_addon
from devcluster.binaries import JOB_IMAGE
from dlws_contract import resource
from tests.argocd_health import health
from examples.seed_samples import program as sample_program
from tests.e2e.addon.conftest import Addon, shell_root
from tests.e2e.containers import call_from, run_python, run_sample, submit_directly, submit_from
from tests.integration.jobs import Jobs, eventually

pytestmark = [pytest.mark.cluster, pytest.mark.real_node]
NS = installed_addon.NAMESPACE


async def test_both_deployments_become_ready_through_their_own_probes(
        addon: Addon, addon_api: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(addon_api), client.CoreV1Api(addon_api)
    for name, replicas in ((installed_addon.OPERATOR, 1), (installed_addon.SHIM, 2)):
        deployment = await apps.read_namespaced_deployment(name, NS)
        assert deployment.status.ready_replicas == replicas, (name, deployment.status)
        pods = (await core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/name={name}")).items
        running = [p for p in pods if p.metadata.deletion_timestamp is None]
        assert len(running) == replicas
        for pod in running:
            (container,) = pod.spec.containers
            assert container.liveness_probe is not None, name
            assert pod.spec.service_account_name in ("dlws-operator", "dlws-api-shim")
            assert pod.spec.security_context.run_as_non_root is True
            assert container.image == "dlws.local/dlws-families:0.1.0"
            # Ready is the kubelet's verdict from the readiness probe it calls.
            assert container.readiness_probe is not None, name
            ready = {c.type: c.status for c in pod.status.conditions}
            assert ready["Ready"] == "True", (pod.metadata.name, pod.status.conditions)


async def test_a_job_reaches_the_shim_by_its_service_name(
        addon: Addon, addon_api: client.ApiClient, addon_namespace: str) -> None:
    root = await shell_root(addon_api, addon_namespace)
    assert root.rest_api == installed_addon.SHIM_URL and root.rest_api.endswith("/")
    out = await run_python(addon.cluster, addon_namespace, root.name, """
import os, socket, urllib.parse, requests
api = os.environ["DLWS_REST_API"]
print(socket.gethostbyname(urllib.parse.urlsplit(api).hostname))
print(requests.get(api + "readyz", timeout=10).status_code)
""")
    address, status = out.split()
    service = await client.CoreV1Api(addon_api).read_namespaced_service(installed_addon.SHIM, NS)
    assert (address, status) == (service.spec.cluster_ip, "200")


async def test_the_documents_samples_run_verbatim_through_the_service(
        addon: Addon, addon_api: client.ApiClient, addon_namespace: str) -> None:
    cluster, ns = addon.cluster, addon_namespace
    root = await shell_root(addon_api, ns)
    jobs = Jobs(addon_api, ns)
    # The child runs the same sample the moment it starts: through the Service, its call
    # keeps its Pod's address, so the shim nests the grandchild under it.
    nested = sample_program("submit_child", "submit_child(_err, _ok)", {"image": JOB_IMAGE.ref, "cmd": "sleep 3600"})
    handler, args = await run_sample(cluster, ns, root.name, "submit_child", "submit_child(_err, _ok)",
                                     {"image": JOB_IMAGE.ref, "cmd": 'python3 -c "$SAMPLE"; exec sleep 3600',
                                      "env": json.dumps({"SAMPLE": nested})})
    assert handler == "success", args
    (child,) = args
    handler, args = await run_sample(cluster, ns, root.name, "job_detail", f"job_detail({child!r}, _ok)")
    assert handler == "success" and args[0]["jobStatus"] in ("scheduling", "running"), args

    async def child_ip() -> str | None:
        handler, got = await run_sample(cluster, ns, root.name, "job_ip", f"job_ip({child!r}, _ok, _err)")
        return str(got[0]) if handler == "success" else None
    ip = await eventually(child_ip, timeout=120, interval=1.0, what=f"GetJobIP of {child}")
    assert (await jobs.running_with_ip(child))["status"]["podIP"] == ip

    async def the_grandchild() -> str | None:
        made = await jobs.list_jobs(f"{resource.LABEL_PARENT}={child}")
        return str(made[0]["metadata"]["name"]) if made else None
    grandchild = await eventually(the_grandchild, timeout=120, interval=1.0, what=f"the child of {child}")
    await jobs.running_with_ip(grandchild, timeout=120)
    assert (await jobs.get(child))["metadata"]["labels"][resource.LABEL_PARENT] == root.name

    handler, args = await run_sample(cluster, ns, root.name, "kill_job", f"kill_job({child!r}, _err, _ok)")
    assert (handler, args) == ("success", [])  # the sample's own check; the kill is proved below
    for job in (child, grandchild):
        await eventually(lambda job=job: _gone(jobs, job), timeout=120, what=f"{job} and its pod gone")
    assert (await jobs.get(root.name)) is not None


async def test_another_family_is_refused_through_the_service(
        addon: Addon, addon_api: client.ApiClient, addon_namespace: str) -> None:
    cluster, ns = addon.cluster, addon_namespace
    mine = await shell_root(addon_api, ns)
    child = await submit_from(cluster, mine, cmd="sleep 3600")
    theirs = await shell_root(addon_api, ns)
    for op in ("JobDetail", "GetJobIP", "KillJob"):
        status, body = await call_from(cluster, theirs, op, jobId=child)
        assert status == 200 and ("error" in body or "Cannot" in body.get("result", "")), (op, body)
    status, body = await call_from(cluster, theirs, "SubmitJob", parentJobId=child, jobName="x",
                                   resourcegpu=0, dataPath="d", image=JOB_IMAGE.ref, jobType="training")
    assert status == 200 and "error" in body, body
    status, body = await call_from(cluster, mine, "JobDetail", jobId=child)
    assert body["jobStatus"] in ("scheduling", "running"), body


async def test_calls_from_outside_the_family_s_pods_nest_under_its_root_through_the_service(
        addon: Addon, addon_api: client.ApiClient, addon_namespace: str) -> None:
    cluster, ns = addon.cluster, addon_namespace
    mine, theirs = await shell_root(addon_api, ns), await shell_root(addon_api, ns)
    job = {"jobName": "x", "resourcegpu": 0, "dataPath": "d", "image": JOB_IMAGE.ref, "jobType": "training",
           "cmd": "sleep 3600"}
    service = await client.CoreV1Api(addon_api).read_namespaced_service(installed_addon.SHIM, NS)
    from_host = await submit_directly(f"http://{service.spec.cluster_ip}:5000/", mine.token, job)
    from_theirs = await submit_from(cluster, theirs, familyToken=mine.token, **job)
    jobs = Jobs(addon_api, ns)
    for made in (from_host, from_theirs):
        assert (await jobs.get(made))["metadata"]["labels"][resource.LABEL_PARENT] == mine.name


# Runs in a Pod of the add-on: calls the API server as the Pod's own ServiceAccount.
AS_SERVICE_ACCOUNT = """
import json, os, ssl, sys, urllib.error, urllib.request
sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
token = open(sa + "token").read()
context = ssl.create_default_context(cafile=sa + "ca.crt")
server = "https://kubernetes.default.svc"
results = {}
for name, method, path, body in json.loads(sys.argv[1]):
    data = json.dumps(body).encode() if body else None
    request = urllib.request.Request(server + path, data=data, method=method, headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=20) as reply:
            results[name] = reply.status
    except urllib.error.HTTPError as e:
        results[name] = e.code
print(json.dumps(results))
"""


async def as_service_account(addon: Addon, addon_api: client.ApiClient, deployment: str,
                             calls: list[tuple[str, str, str, dict[str, Any] | None]]) -> dict[str, int]:
    core = client.CoreV1Api(addon_api)
    pods = (await core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/name={deployment}")).items
    pod = next(p for p in pods if p.metadata.deletion_timestamp is None)
    result = await asyncio.to_thread(
        addon.cluster.kubectl, "exec", "-i", "-n", NS, pod.metadata.name, "--", "python3", "-", json.dumps(calls),
        input=AS_SERVICE_ACCOUNT, check=False)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _pod(ns: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rbac-probe", "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": JOB_IMAGE.ref}]}}


async def test_rbac_as_applied_from_inside_the_pods(
        addon: Addon, addon_api: client.ApiClient, addon_namespace: str) -> None:
    ns = addon_namespace
    jobs_path = f"/apis/dlworkspace.io/v1alpha1/namespaces/{ns}/dlwsjobs"
    shim = await as_service_account(addon, addon_api, installed_addon.SHIM, [
        ("read a secret", "GET", f"/api/v1/namespaces/{NS}/secrets/anything", None),
        ("list secrets", "GET", f"/api/v1/namespaces/{ns}/secrets", None),
        ("create a pod", "POST", f"/api/v1/namespaces/{ns}/pods?dryRun=All", _pod(ns)),
        ("list jobs", "GET", jobs_path, None),
    ])
    assert shim == {"read a secret": 403, "list secrets": 403, "create a pod": 403, "list jobs": 200}, shim
    operator = await as_service_account(addon, addon_api, installed_addon.OPERATOR, [
        ("list secrets", "GET", f"/api/v1/namespaces/{ns}/secrets", None),
        # Allowed since a finished distributed job stops its Pods (lifecycle.stop_pods), and
        # ended families are cleaned up (cleanup.py): no such Pod or job, 404.
        ("delete a pod", "DELETE", f"/api/v1/namespaces/{ns}/pods/anything?dryRun=All", None),
        ("delete a job", "DELETE", f"{jobs_path}/anything?dryRun=All", None),
        ("create a pod", "POST", f"/api/v1/namespaces/{ns}/pods?dryRun=All", _pod(ns)),
        ("list jobs", "GET", jobs_path, None),
    ])
    assert operator == {"list secrets": 403, "delete a pod": 404, "delete a job": 404, "create a pod": 201,
                        "list jobs": 200}, operator


SCRAPE = """
import json, sys, requests
print(json.dumps({url: requests.get(url, timeout=10).text for url in sys.argv[1:]}))
"""

# One kept-alive connection through the Service, so that one shim replica answers the
# scrape before, the submission and the scrape after (each replica counts its own).
SUBMIT_BETWEEN_SCRAPES = """
import json, os, sys, requests
shim, job = os.environ["DLWS_REST_API"], json.loads(sys.argv[1])
with requests.Session() as session:
    before = session.get(shim + "metrics", timeout=10).text
    reply = session.get(shim + "child/SubmitJob", params={"familyToken": os.environ["FAMILY_TOKEN"], **job},
                        timeout=30)
    after = session.get(shim + "metrics", timeout=10).text
print(json.dumps([before, reply.status_code, reply.json(), after]))
"""


def _sum(text: str, metric: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{metric}(?:{{(.*)}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


async def test_metrics_of_both_are_scraped_through_their_services(
        addon: Addon, addon_api: client.ApiClient, addon_namespace: str) -> None:
    cluster, ns = addon.cluster, addon_namespace
    root = await shell_root(addon_api, ns)

    async def operator_created() -> float:
        url = installed_addon.OPERATOR_METRICS_URL
        texts = json.loads(await run_python(cluster, ns, root.name, SCRAPE, url))
        return _sum(texts[url], "dlws_operator_pods_created_total")
    operator_before = await operator_created()

    job = {"jobName": "child", "resourcegpu": 0, "dataPath": "data", "image": JOB_IMAGE.ref,
           "jobType": "training", "cmd": "sleep 3600"}
    out = await run_python(cluster, ns, root.name, SUBMIT_BETWEEN_SCRAPES, json.dumps(job))
    before, status, body, after = json.loads(out.strip().splitlines()[-1])
    assert status == 200, body
    submitted = "dlws_shim_requests_total", {"op": "SubmitJob", "outcome": "ok"}
    assert _sum(after, submitted[0], **submitted[1]) == _sum(before, submitted[0], **submitted[1]) + 1, after
    await Jobs(addon_api, ns).running_with_ip(body["jobId"], timeout=120)

    async def operator_moved() -> bool:
        return await operator_created() > operator_before
    await eventually(operator_moved, timeout=60, interval=1.0, what="the operator's pods-created counter to move")


async def test_argocd_health_of_real_jobs(addon: Addon, addon_api: client.ApiClient, addon_namespace: str) -> None:
    cluster, ns = addon.cluster, addon_namespace
    root = await shell_root(addon_api, ns)
    jobs = Jobs(addon_api, ns)
    done = await submit_from(cluster, root, cmd="true")
    failed = await submit_from(cluster, root, cmd="exit 3")
    victim = await submit_from(cluster, root, cmd="sleep 3600")
    seen: dict[str, dict[str, Any]] = {}
    seen["Running"] = await jobs.running_with_ip(root.name)
    seen["Succeeded"] = await jobs.with_status(done, lambda s: s.get("phase") == "Succeeded", timeout=120)
    seen["Failed"] = await jobs.with_status(failed, lambda s: s.get("phase") == "Failed", timeout=120)
    await jobs.running_with_ip(victim, timeout=120)

    listening = asyncio.Event()  # the watch's first event, the job as it is: the watch is on

    async def killing() -> None:
        w = watch.Watch()
        async with w.stream(jobs.custom.list_namespaced_custom_object, resource.GROUP, resource.VERSION, ns,
                            resource.PLURAL, field_selector=f"metadata.name={victim}", timeout_seconds=120) as stream:
            async for event in stream:
                listening.set()
                if (event["object"].get("status") or {}).get("phase") == "Killing":
                    seen["Killing"] = event["object"]
                    return
    watcher = asyncio.create_task(killing())
    await asyncio.wait_for(listening.wait(), 60)
    status, body = await call_from(cluster, root, "KillJob", jobId=victim)
    assert status == 200, body
    await asyncio.wait_for(watcher, 120)

    expected = {"Running": "Healthy", "Succeeded": "Healthy", "Failed": "Degraded", "Killing": "Progressing"}
    got = {phase: health(obj)[0] for phase, obj in seen.items()}
    assert got == expected, {p: (health(o), o.get("status")) for p, o in seen.items()}


async def _gone(jobs: Jobs, name: str) -> bool:
    if await jobs.get(name) is not None:
        return False
    return not [p for p in await jobs.pods() if p.metadata.name == name]
