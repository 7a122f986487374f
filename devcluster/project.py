"""This project's own processes and sample objects on a local control plane (make dev)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devcluster import addon
from devcluster.apiclient import Api, ApiError
from devcluster.binaries import JOB_IMAGE
from devcluster.cluster import ClusterInfo
from devcluster.commands import Command, operator_command, shim_command
from devcluster.layout import Layout
from devcluster.waiting import wait_until

REPO = Path(__file__).resolve().parents[1]
SHIM_PORT = 5000
SAMPLE = REPO / "manifests" / "samples" / "root-job.yaml"
JOBS_PATH = "/apis/dlworkspace.io/v1alpha1/namespaces/{ns}/dlwsjobs"


def shim(info: ClusterInfo) -> Command:
    """The shim where pods reach it: on a real node, at the bridge's address, reading
    finished jobs' logs from the jobs' storage (the operator's, below)."""
    flags = ("--job-storage", str(Layout.at(info.state_dir).job_storage_dir)) if info.node_kind == "real" else ()
    return shim_command(info.kubeconfig, host=info.host_address, port=SHIM_PORT, flags=flags)


def shim_url(info: ClusterInfo) -> str:
    """The shim's address, as pods reach it (DLWS_REST_API): its Service's DNS name when
    the add-on runs in the cluster."""
    return addon.SHIM_URL if info.in_cluster else shim(info).url


def our_processes(info: ClusterInfo) -> list[Command]:
    """The operator and the shim, with the admin kubeconfig. On a real node the jobs'
    storage is a directory under the cluster's state directory (Layout.job_storage_dir)."""
    real = info.node_kind == "real"
    storage = Layout.at(info.state_dir).job_storage_dir if real else None
    return [operator_command(info.kubeconfig, shim_url(info), one_machine=real, storage_host_path=storage),
            shim(info)]


def sample_job(info: ClusterInfo | None = None) -> dict[str, Any]:
    """manifests/samples/root-job.yaml; on a real node it runs the job image built here
    (Python 3 and requests), since no image can be pulled."""
    job = dict(yaml.safe_load(SAMPLE.read_text()))
    if info is not None and info.node_kind == "real":
        job["spec"]["image"] = JOB_IMAGE.ref
    return job


def sample_job_state(info: ClusterInfo) -> str | None:
    """None when the sample job runs with its family; else what it is waiting for."""
    job = sample_job()
    ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
    try:
        got = Api(info.server, info.ca_file, info.token).get(f"{JOBS_PATH.format(ns=ns)}/{name}")
    except ApiError as e:
        return f"the sample job {ns}/{name} does not exist (HTTP {e.status})"
    status = got.get("status") or {}
    if status.get("phase") != "Running" or not status.get("familyDigest"):
        return f"the sample job {ns}/{name} is not running yet (phase {status.get('phase') or 'none'})"
    return None


def start_sample_job(info: ClusterInfo, timeout: float = 60.0) -> dict[str, Any]:
    """Creates the sample root job (if absent) and waits until it runs with its family."""
    api = Api(info.server, info.ca_file, info.token)
    job = sample_job(info)
    ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
    path = JOBS_PATH.format(ns=ns)
    api.create(path, job)

    def running() -> bool:
        status = api.get(f"{path}/{name}").get("status") or {}
        return status.get("phase") == "Running" and bool(status.get("familyDigest"))

    wait_until(f"sample job {name} running", running, timeout=timeout)
    return dict(api.get(f"{path}/{name}"))


def usage(info: ClusterInfo, job: dict[str, Any]) -> str:
    """What make dev prints once everything runs: where things are, and commands to paste
    (kubectl: the one built here, once the two export lines are pasted)."""
    ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
    url = shim_url(info)
    shell = f"""
In your shell, once: this cluster's kubeconfig, and the kubectl built here (with the
cluster's other binaries) first on PATH:
  export KUBECONFIG={info.kubeconfig}
  export PATH={info.bin_dir}:$PATH
"""
    if info.in_cluster:
        return f"""
DLWS Job Families is installed in a local cluster ({info.server}) with a real node, as a
user installs it (kubectl apply -k manifests/overlays/local): the operator and two shim
replicas run as Pods in dlws-system, every job is a container, and jobs reach the shim
through its Service: DLWS_REST_API={url}
  kubelet, containerd, kube-proxy and CoreDNS logs:  {info.state_dir / 'logs'}/
{shell}
Look around:
  kubectl get pods -n dlws-system
  kubectl logs -n dlws-system deploy/dlws-operator
{_on_real_node(ns, name)}"""
    if info.node_kind == "real":
        return f"""
DLWS Job Families is running on a local control plane ({info.server}) with a real node:
every job is a container. The shim listens on {url}, where pods reach this machine.
  operator, shim, kubelet and containerd logs:  {info.state_dir / 'logs'}/
  the jobs' storage (/data, /work, /job):       {Layout.at(info.state_dir).job_storage_dir}/
{shell}
Look around:
{_on_real_node(ns, name)}"""
    return f"""
DLWS Job Families is running on a local control plane ({info.server}).
  operator and shim logs:  {info.state_dir / 'logs'}/
  the /child API:          {url}child/<Op>   (OpenAPI: {url}openapi.json)
{shell}
Look around:
  kubectl get dlwsjobs -A -o wide
  kubectl get pods -n {ns} -l dlworkspace.io/root={name}

Act as the sample job {name} would (its token, read the way its pod gets it). kwok's
nodes run no process, so any image "runs"; a real node (NODE=real) pulls no image and
starts only the job image built here, the one below:
  T=$(kubectl get secret -n {ns} {name}-family-token -o jsonpath='{{.data.token}}' | base64 -d)
  curl -s "{url}child/SubmitJob?familyToken=$T&jobName=hello&resourcegpu=0&dataPath=data&image={JOB_IMAGE.ref}&jobType=training"
  curl -s "{url}child/JobDetail?familyToken=$T&jobId=<jobId from above>"
  curl -s "{url}child/GetJobIP?familyToken=$T&jobId=<jobId>&wait=10"
  curl -s "{url}KillJob?familyToken=$T&jobId=<jobId>"
Run the seed document's samples end to end:  make demo

Ctrl-C stops everything.
"""


def _on_real_node(ns: str, name: str) -> str:
    """The rest of the usage on a real node: be the sample job, inside its container."""
    return f"""  kubectl get dlwsjobs -A -o wide
  kubectl logs -n {ns} {name}

Be the sample job {name}: run Python inside its container, as a job would
(its $FAMILY_TOKEN and $DLWS_REST_API, Python 3 and requests). The node pulls no image:
it starts only the job image built here, so the child runs that one too:
  kubectl exec -i -n {ns} {name} -- python3 - <<'EOF'
import os, requests
api = os.environ["DLWS_REST_API"]
job = dict(familyToken=os.environ["FAMILY_TOKEN"], jobName="hello", resourcegpu=0, dataPath="data",
           image="{JOB_IMAGE.ref}", jobType="training", cmd="echo hello from a child; sleep 600")
print(requests.get(api + "child/SubmitJob", params=job, timeout=10).json())
EOF
Run the seed document's samples inside that container:  make demo

Ctrl-C stops everything.
"""
