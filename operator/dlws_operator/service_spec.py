"""The Service of a job with interactivePorts (dlws_contract.endpoints): a pure function
of the job, unit-tested without a cluster."""
from collections.abc import Mapping
from typing import Any

from dlws_contract import endpoints, resource


def build_service(job: Mapping[str, Any], *, node_ports: bool) -> dict[str, Any] | None:
    """None for a job without interactivePorts. Owned by the job: a kill removes it."""
    meta = job["metadata"]
    ports = sorted({int(p) for p in (job.get("spec") or {}).get("interactivePorts") or []})
    if not ports:
        return None
    spec: dict[str, Any] = {
        "selector": {resource.LABEL_JOB: meta["name"]},
        "ports": [{"name": endpoints.port_name(p), "port": p, "targetPort": p, "protocol": "TCP"} for p in ports],
    }
    if node_ports:
        spec["type"] = "NodePort"
    else:
        spec["clusterIP"] = "None"  # headless: DNS answers the Pod's address, no proxy needed
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": endpoints.service_name(meta["name"]), "namespace": meta["namespace"],
                     "labels": {resource.LABEL_JOB: meta["name"]},
                     "ownerReferences": [resource.owner_reference(job)]},
        "spec": spec,
    }


def node_ports_of(service: Mapping[str, Any]) -> list[dict[str, int]]:
    """What the API server gave a NodePort Service: [{port, nodePort}] for the job's status."""
    return [{"port": int(p["port"]), "nodePort": int(p["nodePort"])}
            for p in (service.get("spec") or {}).get("ports") or [] if p.get("nodePort")]
