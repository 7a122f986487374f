"""The fake Nodes kwok manages: created by us, made Ready by kwok's node-initialize Stage."""
from __future__ import annotations

from typing import Any

from devcluster.apiclient import Api

# Benchmarks run thousands of pods: 4 nodes x 1000 pods, each node with a /20 pod CIDR
# (4094 addresses, more than its pod capacity) so kwok never runs out of pod IPs.
DEFAULT_NODES = 4
PODS_PER_NODE = "1000"
GPUS_PER_NODE = "8"
# Every job's Pod asks for CPU and memory, by default DLWS's 500m and 2048M: a full node
# of such pods (500 cores, 2.048 TB) fits, and a job asking for more cores than any node
# has (tests/integration/test_resources.py) never does.
CPUS_PER_NODE = "1000"
MEMORY_PER_NODE = "4Ti"


def node_name(index: int) -> str:
    return f"kwok-node-{index}"


def manifest(index: int) -> dict[str, Any]:
    name = node_name(index)
    resources = {
        "cpu": CPUS_PER_NODE,
        "memory": MEMORY_PER_NODE,
        "pods": PODS_PER_NODE,
        "nvidia.com/gpu": GPUS_PER_NODE,
        "ephemeral-storage": "10Ti",
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
            },
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
            },
        },
        "spec": {"podCIDR": f"10.244.{16 * index}.0/20", "podCIDRs": [f"10.244.{16 * index}.0/20"]},
        # A kubelet registers its node with its capacity; kwok's node-initialize Stage
        # keeps what is set here (its defaults otherwise).
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [
                {"type": "InternalIP", "address": f"172.30.0.{10 + index}"},
                {"type": "Hostname", "address": name},
            ],
        },
    }


def create(api: Api, count: int) -> list[str]:
    names = []
    for i in range(count):
        api.create("/api/v1/nodes", manifest(i))
        names.append(node_name(i))
    return names


def is_ready(api: Api, name: str) -> bool:
    node = api.get(f"/api/v1/nodes/{name}")
    for condition in node.get("status", {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False
