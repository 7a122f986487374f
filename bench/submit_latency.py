"""Issue 4's figure: SubmitJob latency through the shim versus creating the same DLWSJob
directly on the API server, measured in one run, against a control plane you name with
a running operator:

    python -m bench.submit_latency --kubeconfig .cluster/kubeconfig [--n 200]

Both paths use kubernetes.aio's client: the direct path calls create on the API server
from this process; the shim path sends GET /child/SubmitJob (keep-alive, token in the
query, as the samples do) to a dlws-api-shim this script starts, whose one create call
goes through the same client. The two are interleaved one request at a time (order
alternating) so that both see the same cluster load. The shim is started with its
family limits raised out of the way: this measures latency, not the limits.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes.aio import client, config

from api_shim.child_job import build_child
from api_shim.records import record_from_object
from dlws_contract import resource
from dlws_contract.spec import spec_from_parameters
from tests.integration.jobs import Jobs

PARAMS = {"jobName": "bench", "resourcegpu": "0", "dataPath": "d", "image": "busybox",
          "jobType": "training", "cmd": "sleep 3600"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_shim(kubeconfig: str, n: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [str(Path(sys.executable).parent / "dlws-api-shim"), "--host", "127.0.0.1",
            "--port", str(port), "--kubeconfig", kubeconfig, "--log-level", "WARNING",
            "--max-live-jobs", str(4 * n + 100), "--submit-rate", "100000", "--submit-burst", "100000",
            "--max-depth", "5"]
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "readyz", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the shim did not get ready; see {log}")


async def family_token(api: client.ApiClient, namespace: str, root: str) -> str:
    secret = await client.CoreV1Api(api).read_namespaced_secret(resource.family_secret_name(root), namespace)
    assert secret.data is not None, "the family Secret has no data"
    return base64.b64decode(secret.data[resource.SECRET_TOKEN_KEY]).decode()


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"n": len(ordered), "median_ms": statistics.median(ordered) * 1000,
            "p90_ms": pct(0.90) * 1000, "p99_ms": pct(0.99) * 1000,
            "mean_ms": statistics.fmean(ordered) * 1000, "max_ms": ordered[-1] * 1000}


async def run(kubeconfig: str, n: int, warmup: int) -> dict[str, Any]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration,  # type: ignore[no-untyped-call]
                                  persist_config=False)
    async with client.ApiClient(configuration) as api:
        core = client.CoreV1Api(api)
        namespace = f"bench-submit-{uuid.uuid4().hex[:6]}"
        await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
        log = Path(tempfile.mkdtemp(prefix="bench-shim-")) / "shim.log"
        shim, url = start_shim(kubeconfig, n + warmup, log)
        try:
            for _ in range(200):  # pods are refused until the namespace has its ServiceAccount
                if any(sa.metadata is not None and sa.metadata.name == "default"
                       for sa in (await core.list_namespaced_service_account(namespace)).items):
                    break
                await asyncio.sleep(0.05)
            jobs = Jobs(api, namespace)
            await jobs.root("bench-root")
            root_obj = await jobs.family_ready("bench-root", timeout=60)
            root = record_from_object(root_obj)
            token = await family_token(api, namespace, root.name)
            custom = client.CustomObjectsApi(api)
            spec = spec_from_parameters(PARAMS)
            query = {**PARAMS, "familyToken": token}

            async def direct() -> float:
                body = build_child(name=str(uuid.uuid4()), spec=spec, parent=root, root=root,
                                   digest=root.family or "")
                start = time.perf_counter()
                await custom.create_namespaced_custom_object(
                    resource.GROUP, resource.VERSION, namespace, resource.PLURAL, body,
                    field_validation="Strict", _request_timeout=10.0)
                return time.perf_counter() - start

            async with aiohttp.ClientSession() as http:
                async def through_shim() -> float:
                    start = time.perf_counter()
                    async with http.get(url + "child/SubmitJob", params=query) as resp:
                        answer = await resp.json()
                    elapsed = time.perf_counter() - start
                    if "jobId" not in answer:
                        raise RuntimeError(f"SubmitJob failed: {answer}")
                    return elapsed

                results: dict[str, list[float]] = {"direct": [], "shim": []}
                for i in range(warmup + n):
                    order = [("direct", direct), ("shim", through_shim)]
                    if i % 2:
                        order.reverse()
                    for name, fn in order:
                        took = await fn()
                        if i >= warmup:
                            results[name].append(took)
            report: dict[str, Any] = {k: summary(v) for k, v in results.items()}
            report["overhead_median_ms"] = report["shim"]["median_ms"] - report["direct"]["median_ms"]
            report["overhead_p99_ms"] = report["shim"]["p99_ms"] - report["direct"]["p99_ms"]
            return report
        finally:
            shim.terminate()
            shim.wait(10)
            await core.delete_namespace(namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", required=True, help="admin kubeconfig of a cluster with the operator running")
    parser.add_argument("--n", type=int, default=200, help="measured submissions per path (default 200)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", help="also write the JSON report here")
    args = parser.parse_args()
    report = asyncio.run(run(args.kubeconfig, args.n, args.warmup))
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    d, s = report["direct"], report["shim"]
    print(f"\nSubmitJob via shim: median {s['median_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms; "
          f"direct create: median {d['median_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms "
          f"(n={s['n']} each, interleaved)", file=sys.stderr)


if __name__ == "__main__":
    main()
