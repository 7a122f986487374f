"""Issue 3's figures, against a running operator on a control plane you name:

    python -m bench.operator_figures --kubeconfig .cluster/kubeconfig [--jobs 50] [--family 100]

1. create → podIP: time from creating a root DLWSJob to its status showing the podIP,
   observed through a watch (median and p90 over --jobs jobs, created one at a time);
2. foreground kill: a family of --family jobs (root, 9 children, the rest grandchildren)
   deleted with propagationPolicy=Foreground, until no DLWSJob and no Pod of it is left.
"""
import argparse
import asyncio
import json
import statistics
import time
import uuid
from typing import Any

from kubernetes.aio import client, config, watch

from dlws_contract import resource
from tests.integration.jobs import SPEC, Jobs


async def new_namespace(api: client.ApiClient) -> str:
    core = client.CoreV1Api(api)
    name = f"bench-{uuid.uuid4().hex[:6]}"
    await core.create_namespace({"metadata": {"name": name}})
    for _ in range(200):
        sas = await core.list_namespaced_service_account(name)
        if any(sa.metadata.name == "default" for sa in sas.items):
            break
        await asyncio.sleep(0.05)
    return name


async def time_to_ip(jobs: Jobs, n: int) -> list[float]:
    samples = []
    for i in range(n):
        name = f"ip-{i}"
        w = watch.Watch()
        started = time.monotonic()
        await jobs.root(name)
        async for event in w.stream(jobs.custom.list_namespaced_custom_object, resource.GROUP,
                                    resource.VERSION, jobs.ns, resource.PLURAL,
                                    field_selector=f"metadata.name={name}", timeout_seconds=60):
            if (event["object"].get("status") or {}).get("podIP"):
                samples.append(time.monotonic() - started)
                w.stop()
                break
        await w.close()
    return samples


async def kill_family(jobs: Jobs, size: int) -> float:
    await jobs.root("fam")
    root = await jobs.family_ready("fam")
    children = [await jobs.child(root, f"fam-c{i}") for i in range(9)]
    made = 1 + len(children)
    i = 0
    while made < size:
        await jobs.child(children[i % 9], f"fam-g{i}")
        made += 1
        i += 1
    while len([p for p in await jobs.pods() if p.status.pod_ip]) < size:
        await asyncio.sleep(0.2)
    started = time.monotonic()
    await jobs.delete("fam")
    while await jobs.list_jobs() or await jobs.pods():
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--family", type=int, default=100)
    args = parser.parse_args()
    cfg = client.Configuration()
    await config.load_kube_config(config_file=args.kubeconfig, client_configuration=cfg)
    async with client.ApiClient(cfg) as api:
        ips = await time_to_ip(Jobs(api, await new_namespace(api)), args.jobs)
        kill = await kill_family(Jobs(api, await new_namespace(api)), args.family)
    result: dict[str, Any] = {
        "create_to_pod_ip_s": {"n": len(ips), "median": statistics.median(ips), "p90": pct(ips, 0.9),
                               "max": max(ips)},
        "foreground_kill_s": {"family_size": args.family, "seconds": kill},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
