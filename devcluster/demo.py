"""`make demo`: the seed document's samples, run unchanged as the sample root job would
run them (its FAMILY_TOKEN and DLWS_REST_API), against a running `make dev`."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from typing import Any

from devcluster import project
from devcluster.apiclient import Api
from devcluster.cluster import LocalCluster
from devcluster.waiting import wait_until
from examples.seed_samples import program


def run_sample(env: dict[str, str], sample: str, call: str) -> tuple[str, list[Any]]:
    out = subprocess.run([sys.executable, "-c", program(sample, call)], env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    handler, args = json.loads(out.stdout.strip().splitlines()[-1])
    return str(handler), list(args)


def run(state: str) -> int:
    info = LocalCluster(state).info()
    if info is None:
        print(f"devcluster: nothing runs in {state}; start it with `make dev` first", file=sys.stderr)
        return 1
    api = Api(info.server, info.ca_file, info.token)
    job = project.sample_job()
    ns, root = job["metadata"]["namespace"], job["metadata"]["name"]
    secret = api.get(f"/api/v1/namespaces/{ns}/secrets/{root}-family-token")
    # Exactly what the operator gives the sample job's pod.
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",)}
    env.update(FAMILY_TOKEN=base64.b64decode(secret["data"]["token"]).decode(),
               DLWS_REST_API=project.SHIM_URL)
    jobs = project.JOBS_PATH.format(ns=ns)

    handler, args = run_sample(env, "submit_child", "submit_child(_err, _ok)")
    print(f"submit_child  -> {handler}: {args}")
    if handler != "success":
        return 1
    child = args[0]

    handler, (detail,) = run_sample(env, "job_detail", f"job_detail({child!r}, _ok)")
    shown = {k: detail.get(k) for k in ("jobId", "jobName", "jobStatus", "userName", "parentJobId")}
    print(f"job_detail    -> {handler}: {shown}")

    ip: list[Any] = []

    def has_ip() -> bool:
        nonlocal ip
        result, ip = run_sample(env, "job_ip", f"job_ip({child!r}, _ok, _err)")
        return result == "success"

    wait_until(f"an IP for {child}", has_ip, timeout=30)
    print(f"job_ip        -> success: {ip}")

    start = time.monotonic()
    handler, args = run_sample(env, "kill_job", f"kill_job({child!r}, _err, _ok)")
    print(f"kill_job      -> {handler}{': ' + str(args) if args else ''}")
    wait_until(f"{child} gone", lambda: not api.exists(f"{jobs}/{child}"), timeout=60)
    print(f"              the child and its pod were gone {time.monotonic() - start:.1f}s after the call")
    return 0
