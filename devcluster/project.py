"""This project's own processes and sample objects on a local control plane (make dev)."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import yaml

from devcluster.apiclient import Api, ApiError
from devcluster.cluster import ClusterInfo
from devcluster.ports import free_ports
from devcluster.waiting import wait_until

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHIM_PORT = 5000
SHIM_URL = f"http://127.0.0.1:{SHIM_PORT}/"
SAMPLE = REPO / "manifests" / "samples" / "root-job.yaml"
JOBS_PATH = "/apis/dlworkspace.io/v1alpha1/namespaces/{ns}/dlwsjobs"


def operator_argv(info: ClusterInfo) -> list[str]:
    health, metrics = free_ports(2)
    return [str(BIN / "dlws-operator"), "--kubeconfig", str(info.kubeconfig),
            "--liveness", f"http://127.0.0.1:{health}/healthz",
            "--metrics-host", "127.0.0.1", "--metrics-port", str(metrics)]


def shim_argv(info: ClusterInfo) -> list[str]:
    return [str(BIN / "dlws-api-shim"), "--kubeconfig", str(info.kubeconfig),
            "--host", "127.0.0.1", "--port", str(SHIM_PORT)]


def sample_job() -> dict[str, Any]:
    return dict(yaml.safe_load(SAMPLE.read_text()))


def start_sample_job(info: ClusterInfo, timeout: float = 60.0) -> dict[str, Any]:
    """Creates the sample root job (if absent) and waits until it runs with its family."""
    api = Api(info.server, info.ca_file, info.token)
    job = sample_job()
    ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
    path = JOBS_PATH.format(ns=ns)
    api.create(path, job)

    def running() -> bool:
        status = api.get(f"{path}/{name}").get("status") or {}
        return status.get("phase") == "Running" and bool(status.get("familyDigest"))

    wait_until(f"sample job {name} running", running, timeout=timeout)
    return dict(api.get(f"{path}/{name}"))


def wait_for_shim(timeout: float = 30.0) -> None:
    import urllib.request

    def ready() -> bool:
        with urllib.request.urlopen(SHIM_URL + "readyz", timeout=2) as resp:
            return bool(resp.status == 200)

    wait_until("the shim's /readyz", ready, timeout=timeout)


def usage(info: ClusterInfo, state: str, job: dict[str, Any]) -> str:
    kubectl = f"{info.kubectl} --kubeconfig {Path(state) / 'kubeconfig'}"
    ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
    secret = f"{name}-family-token"
    return f"""
DLWS Job Families is running on a local control plane ({info.server}).
  operator and shim logs:  {info.state_dir / 'logs'}/
  the /child API:          {SHIM_URL}child/<Op>   (OpenAPI: {SHIM_URL}openapi.json)

Look around:
  {kubectl} get dlwsjobs -A -o wide
  {kubectl} get pods -n {ns} -l dlworkspace.io/root={name}

Act as the sample job {name} would (its token, read the way its pod gets it):
  T=$({kubectl} get secret -n {ns} {secret} -o jsonpath='{{.data.token}}' | base64 -d)
  curl -s "{SHIM_URL}child/SubmitJob?familyToken=$T&jobName=hello&resourcegpu=0&dataPath=data&image=busybox&jobType=training"
  curl -s "{SHIM_URL}child/JobDetail?familyToken=$T&jobId=<jobId from above>"
  curl -s "{SHIM_URL}child/GetJobIP?familyToken=$T&jobId=<jobId>&wait=10"
  curl -s "{SHIM_URL}KillJob?familyToken=$T&jobId=<jobId>"
Run the seed document's samples end to end:  make demo

Ctrl-C stops everything.
"""


def ensure_crd_installed(info: ClusterInfo) -> None:
    api = Api(info.server, info.ca_file, info.token)
    try:
        api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/dlwsjobs.dlworkspace.io")
    except ApiError as exc:
        raise RuntimeError("the DLWSJob CRD is not installed; `make cluster-down && make dev`") from exc


def elapsed(start: float) -> str:
    return f"{time.monotonic() - start:.1f}s"
