"""JobDetail: a DLWSJob told in DLWorkspace's words. Pure."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from dlws_contract import endpoints, phases, resource
from dlws_contract.spec import RESOURCE_FIELDS, InvalidJob
from dlws_contract.storage import job_storage_paths


def job_params(spec: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    """DLWS's jobParams: the job's parameters, with the CPU and memory its Pod really got
    (status.resources: its own values, paired, or the cluster's defaults) in DLWS's names."""
    params = copy.deepcopy(dict(spec))
    got = status.get("resources") or {}
    params.update({name: str(got[name]) for name in RESOURCE_FIELDS if got.get(name)})
    return params


def resolved_paths(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, str]:
    """dataPath, workPath and jobPath as the operator mounts them (storage.storage_paths),
    as DLWS stored them: a child's are stored so already, a root applied by hand gets the
    same defaults here. {} for a job whose paths break the rules (it has no Pod)."""
    try:
        paths = job_storage_paths(meta, spec)
    except InvalidJob:
        return {}
    return {"dataPath": paths.dataPath, "workPath": paths.workPath, "jobPath": paths.jobPath}


def status_detail(status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """jobStatusDetail: the job's Pod, or one entry per Pod of a distributed job."""
    pods = [p for p in status.get("pods") or [] if isinstance(p, Mapping)]
    if pods:
        return [{"phase": p.get("phase"), "podName": p.get("name"), "podIP": p.get("podIP"),
                 "role": p.get("role"), "index": p.get("index"), "host": p.get("host"),
                 "reason": p.get("reason"), "message": p.get("message"), "exitCode": p.get("exitCode")}
                for p in pods]
    return [{
        "phase": status.get("phase"),
        "podName": status.get("podName"),
        "podIP": status.get("podIP") or None,
        "reason": status.get("reason"),
        "message": status.get("message"),
        "startTime": status.get("startTime"),
        "completionTime": status.get("completionTime"),
    }]


def job_endpoints(meta: Mapping[str, Any], ports: list[int], pod_ip: str | None,
                  node_ports: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per interactive port: the Pod's address (once it has one), the job's Service by its
    DNS name (dlws_contract.endpoints: the same while the job lives), and the node port
    when the cluster turns them on."""
    name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
    dns = endpoints.dns_name(name, namespace)
    by_port = {int(n["port"]): int(n["nodePort"]) for n in node_ports if n.get("port") and n.get("nodePort")}
    return [{"port": p, "address": f"{pod_ip}:{p}" if pod_ip else None, "podIP": pod_ip,
             "serviceName": dns, "serviceAddress": f"{dns}:{p}",
             **({"nodePort": by_port[p]} if p in by_port else {})} for p in ports]


def job_detail(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    pod_ip = status.get("podIP") or None
    phase = status.get("phase")
    ports = [int(p) for p in spec.get("interactivePorts") or []]
    return {
        "jobId": meta.get("name"),
        "jobName": spec.get("jobName"),
        "userName": spec.get("userName", "default"),
        "userId": spec.get("userId", 0),
        "jobStatus": phases.job_status(phase, bool(meta.get("deletionTimestamp"))),
        "jobStatusDetail": status_detail(status),
        "jobType": spec.get("jobType"),
        "jobTime": meta.get("creationTimestamp"),
        # The spec holds no token: the operator passes it to pods from a Secret only.
        "jobParams": {**job_params(spec, status), **resolved_paths(meta, spec)},
        "parentJobId": labels.get(resource.LABEL_PARENT),
        "rootJobId": labels.get(resource.LABEL_ROOT, meta.get("name")),
        "podIP": pod_ip,
        "endpoints": job_endpoints(meta, ports, pod_ip, status.get("nodePorts") or []),
        "errorMsg": (status.get("message") or "") if phase == phases.FAILED else "",
        # DLWS marked the jobs a user submitted (roots) as parents of their families.
        "isParent": 0 if resource.LABEL_PARENT in labels else 1,
    }
