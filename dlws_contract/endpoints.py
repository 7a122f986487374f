"""A job's interactive ports by name: the Service the operator makes for a job with
interactivePorts (owned by the job, so it goes with it), its name and DNS name. Pure;
the operator builds the Service from these (operator/dlws_operator/service_spec.py), the
shim tells them in JobDetail's endpoints.

The Service is headless (no virtual IP): its DNS name answers the job's Pod address from
cluster DNS alone, on any cluster, with or without kube-proxy; the name stays while the
job lives, whatever address its Pod gets. With node ports turned on (the operator's
DLWS_OPERATOR_NODE_PORTS) it is a NodePort Service instead: a virtual IP and a port on
every node, which needs the cluster's service proxy, and exposes the job beyond the cluster.
"""
from __future__ import annotations

from typing import Final

from dlws_contract import resource

_PREFIX: Final = "job-"  # a Service name begins with a letter; a jobId (a uuid4) may not


def service_name(job: str) -> str:
    """The job's Service: deterministic, a DNS-1035 label of at most 63 characters."""
    return resource.service_name(_PREFIX, job)


def dns_name(job: str, namespace: str, cluster_domain: str = resource.CLUSTER_DOMAIN_DEFAULT) -> str:
    return f"{service_name(job)}.{namespace}.svc.{cluster_domain}"


def port_name(port: int) -> str:
    return f"port-{port}"
