"""`make demo`: the seed document's samples, run unchanged against a running `make dev`.

On a real node they run inside the sample root job's container (`kubectl exec`), as a job
runs them; with kwok's fake pods, as host processes given that job's FAMILY_TOKEN and
DLWS_REST_API.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from devcluster import project
from devcluster.apiclient import Api
from devcluster.binaries import JOB_IMAGE
from devcluster.cluster import ClusterInfo, LocalCluster
from devcluster.waiting import wait_until
from examples.seed_samples import program

Runner = Callable[..., str]
# What the document's child is swapped for on a real node: its image only (no registry
# here). The job image has Jupyter, so the document's cmd runs as it is.
REAL_NODE_CHILD = {"image": JOB_IMAGE.ref}
# In the root's container: the child's Jupyter answering on its port, and what Jupyter
# made in its HOME, the child's /job, which the root sees under its own /work.
FETCH = """
import glob, json, sys, requests
reply = requests.get(f"http://{sys.argv[1]}:8888/", timeout=3)
home = glob.glob(f"/work/jobs/*/{sys.argv[2]}")
made = sorted(p[len(home[0]) + 1:] for p in glob.glob(home[0] + "/.*")) if home else []
print(json.dumps([reply.status_code, reply.url.split("?")[0], home[0] if home else None, made]))
"""


def in_container(info: ClusterInfo, namespace: str, pod: str) -> Runner:
    def run(source: str, *args: str) -> str:
        return subprocess.run(
            [str(info.kubectl), f"--kubeconfig={info.kubeconfig}", "exec", "-i", "-n", namespace, pod,
             "--", "python3", "-", *args],
            input=source, capture_output=True, text=True, timeout=60, check=True).stdout
    return run


def on_host(env: dict[str, str]) -> Runner:
    def run(source: str, *args: str) -> str:
        return subprocess.run([sys.executable, "-c", source, *args], env=env, capture_output=True,
                              text=True, timeout=60, check=True).stdout
    return run


def run_sample(runner: Runner, sample: str, call: str,
               submit_params: dict[str, str] | None = None) -> tuple[str, list[Any]]:
    handler, args = json.loads(runner(program(sample, call, submit_params)).strip().splitlines()[-1])
    return str(handler), list(args)


def run(state: str) -> int:
    info = LocalCluster(state).info()
    if info is None:
        print(f"devcluster: nothing runs in {state}; start it with `make dev` first", file=sys.stderr)
        return 1
    waiting = project.sample_job_state(info)
    if waiting is not None:
        print(f"devcluster: {waiting}; run `make demo` once `make dev` has printed its usage",
              file=sys.stderr)
        return 1
    api = Api(info.server, info.ca_file, info.token)
    job = project.sample_job()
    ns, root = job["metadata"]["namespace"], job["metadata"]["name"]
    real = info.node_kind == "real"
    if real:
        runner = in_container(info, ns, root)
        print(f"running the samples inside the container of {ns}/{root}")
    else:
        secret = api.get(f"/api/v1/namespaces/{ns}/secrets/{root}-family-token")
        # Exactly what the operator gives the sample job's pod.
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        env.update(FAMILY_TOKEN=base64.b64decode(secret["data"]["token"]).decode(),
                   DLWS_REST_API=project.shim_url(info))
        runner = on_host(env)
    jobs = project.JOBS_PATH.format(ns=ns)

    handler, args = run_sample(runner, "submit_child", "submit_child(_err, _ok)",
                               REAL_NODE_CHILD if real else None)
    print(f"submit_child  -> {handler}: {args}")
    if handler != "success":
        return 1
    child = args[0]

    handler, (detail,) = run_sample(runner, "job_detail", f"job_detail({child!r}, _ok)")
    shown = {k: detail.get(k) for k in ("jobId", "jobName", "jobStatus", "userName", "parentJobId")}
    print(f"job_detail    -> {handler}: {shown}")

    ip: list[Any] = []

    def has_ip() -> bool:
        nonlocal ip
        result, ip = run_sample(runner, "job_ip", f"job_ip({child!r}, _ok, _err)")
        return result == "success"

    wait_until(f"an IP for {child}", has_ip, timeout=60)
    print(f"job_ip        -> success: {ip}")
    if real:
        fetched: list[Any] = []

        def answers() -> bool:
            nonlocal fetched  # raising (not listening yet) means "not yet" to wait_until
            fetched = json.loads(runner(FETCH, ip[0], child).strip().splitlines()[-1])
            return bool(fetched[0] == 200)

        took = wait_until(f"{child}'s Jupyter answering on port 8888", answers, timeout=120)
        status, url, home, made = fetched
        print(f"              the child's Jupyter answered HTTP {status} at {url} ({took:.1f}s)")
        if home:
            print(f"              its HOME, /job, is the root's {home}/ ({', '.join(made) or 'empty'})")

    start = time.monotonic()
    handler, args = run_sample(runner, "kill_job", f"kill_job({child!r}, _err, _ok)")
    print(f"kill_job      -> {handler}{': ' + str(args) if args else ''}")
    wait_until(f"{child} gone", lambda: not api.exists(f"{jobs}/{child}"), timeout=60)
    print(f"              the child and its pod were gone {time.monotonic() - start:.1f}s after the call")
    return 0
