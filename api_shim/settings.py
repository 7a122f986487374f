"""The shim's settings: one frozen value built from flags and the environment.

Every limit has a default that is safe to expose to every pod of a cluster; the
Deployment or `dlws-api-shim --help` changes them.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from api_shim.attribution import Network, parse_networks
from dlws_contract.spec import gpu_type_list

ENV_PREFIX = "DLWS_SHIM_"


@dataclass(frozen=True)
class Settings:
    # The CLI listens on loopback unless told otherwise; the Deployment passes 0.0.0.0.
    host: str = "127.0.0.1"
    port: int = 5000
    # Path of a kubeconfig; None means in-cluster config when running in a pod, else the
    # default kubeconfig.
    kubeconfig: str | None = None
    # Watch and serve only this namespace; None means the whole cluster.
    namespace: str | None = None
    # Family limits: a job that submits in an endless loop is stopped by these.
    max_live_jobs: int = 100
    max_depth: int = 5
    # Pods of one distributed job (PSDistJob: numps + numpsworker); the operator's
    # DLWS_OPERATOR_MAX_PODS_PER_JOB should say the same.
    max_pods_per_job: int = 64
    submit_rate: float = 5.0
    submit_burst: int = 20
    # Requests of any operation per family: the calls that read the API server (JobDetail,
    # KillJob) are otherwise unbounded, and one family's flood would slow every other.
    request_rate: float = 100.0
    request_burst: int = 200
    # Longest a GetJobIP `wait` may hold a request, seconds.
    max_ip_wait: float = 60.0
    # Every Kubernetes call (except the watch) gives up after this many seconds.
    k8s_timeout: float = 10.0
    # Requests carry a few short strings; a larger body is refused before it is parsed.
    max_body: int = 64 * 1024
    # A client must send a request's headers within this many seconds of connecting (or
    # of its previous answer), and then its body within as many again: a slow sender
    # cannot hold a connection open.
    read_timeout: float = 10.0
    # Stopping behind a Service (shutdown.py). On SIGTERM the shim fails /readyz at once
    # but serves on for shutdown_delay seconds, while the endpoints controller and every
    # node's kube-proxy stop sending it new connections; then it stops accepting and gives
    # the requests in flight up to drain_timeout seconds to finish. Kubernetes kills the
    # pod terminationGracePeriodSeconds (default 30) after SIGTERM, so
    # shutdown_delay + drain_timeout must stay below it, with a few seconds to spare
    # (manifests/shim/deployment.yaml). A drain longer than k8s_timeout lets a SubmitJob
    # whose API call is slowest still answer.
    shutdown_delay: float = 5.0
    drain_timeout: float = 15.0
    log_level: str = "INFO"
    # The GPU types a job may name in gpuType, comma-separated ("": any). The operator's
    # DLWS_OPERATOR_GPU_TYPES should list the same: it refuses the others in DLWSJobs
    # made without the shim.
    gpu_types: str = ""
    # SubmitJob without parentJobId nests the new job under the job whose Pod sent the
    # request, told by its source address (callers.py); false: under the family root, and
    # the shim watches no Pods.
    caller_lookup: bool = True
    # Longest a SubmitJob waits for the Pod watch to show the address of a job that has just
    # started (its first request may come before the kubelet's report), seconds.
    caller_wait: float = 5.0
    # Proxies in front of the shim whose X-Forwarded-For is believed, comma-separated
    # addresses or CIDRs ("": none, the header is ignored).
    trusted_proxies: str = ""
    # The jobs' storage where the shim runs (the operator's storage, mounted read-only):
    # JobDetail's log of a job whose Pod is gone is read from its copy there
    # (job_log.py). "": such a job's log is empty.
    job_storage: str = ""

    @property
    def gpu_type_names(self) -> frozenset[str]:
        return gpu_type_list(self.gpu_types)

    @property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1..65535, not {self.port}")
        for name in ("max_live_jobs", "max_depth", "max_pods_per_job", "submit_burst", "request_burst", "max_body"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        # drain_timeout 0 would be aiohttp's "no timeout": a drain without end.
        for name in ("submit_rate", "request_rate", "k8s_timeout", "read_timeout", "drain_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        for name in ("max_ip_wait", "shutdown_delay", "caller_wait"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.job_storage and not self.job_storage.startswith("/"):
            raise ValueError(f"job_storage must be an absolute path, not {self.job_storage!r}")
        try:
            self.gpu_type_names
        except ValueError as exc:
            raise ValueError(f"gpu_types: {exc}") from None
        try:
            self.trusted_proxy_networks
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {exc}") from None


_HELP = {
    "host": "address to listen on (default %(default)s)",
    "port": "port to listen on (default %(default)s)",
    "kubeconfig": "kubeconfig file; default: in-cluster config in a pod, else ~/.kube/config",
    "namespace": "serve only jobs of this namespace (default: the whole cluster)",
    "max_live_jobs": "live (unfinished) jobs per family, root included (default %(default)s)",
    "max_depth": "deepest child below its family root (default %(default)s)",
    "max_pods_per_job": "Pods of one distributed job, numps + numpsworker (default %(default)s)",
    "submit_rate": "SubmitJob calls per second per family, sustained (default %(default)s)",
    "submit_burst": "SubmitJob calls per family allowed at once (default %(default)s)",
    "request_rate": "requests per second per family, every operation, sustained (default %(default)s)",
    "request_burst": "requests per family allowed at once, every operation (default %(default)s)",
    "max_ip_wait": "longest GetJobIP wait, seconds (default %(default)s)",
    "k8s_timeout": "Kubernetes request timeout, seconds (default %(default)s)",
    "max_body": "largest request body, bytes (default %(default)s)",
    "read_timeout": "seconds a client may take to send a request's headers, and then its "
                    "body; also how long an idle connection is kept (default %(default)s)",
    "shutdown_delay": "seconds the shim keeps serving after SIGTERM, not ready, so a Service "
                      "stops sending it connections (default %(default)s)",
    "drain_timeout": "then seconds the requests in flight get to finish; shutdown delay + drain "
                     "timeout must stay below the pod's termination grace period (default %(default)s)",
    "log_level": "DEBUG, INFO, WARNING or ERROR (default %(default)s)",
    "gpu_types": "GPU types a job may name in gpuType, comma-separated (default: any)",
    "caller_lookup": "true: SubmitJob without parentJobId nests under the job whose Pod sent it, "
                     "told by the source address (watches Pods); false: under the family root "
                     "(default %(default)s)",
    "caller_wait": "longest SubmitJob waits for the address of a job's just-started Pod, "
                   "seconds (default %(default)s)",
    "trusted_proxies": "addresses or CIDRs of proxies in front of the shim whose "
                       "X-Forwarded-For is believed, comma-separated (default: none)",
    "job_storage": "the jobs' storage, mounted here read-only: JobDetail reads a job's log "
                   "from it once its Pod is gone (default: none, that log is empty)",
}


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _env_default(name: str, default: Any, environ: Mapping[str, str]) -> Any:
    raw = environ.get(ENV_PREFIX + name.upper())
    if raw is None or raw == "":
        return default
    return raw


def parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """Flags for every setting; each also reads DLWS_SHIM_<NAME> from the environment."""
    env = os.environ if environ is None else environ
    p = argparse.ArgumentParser(
        prog="dlws-api-shim",
        description="The DLWorkspace /child API for job families, backed by DLWSJobs.",
    )
    defaults = Settings()
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        kind: Any = {"int": int, "float": float, "bool": _boolean}.get(str(f.type), str)
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind,
                       default=_env_default(f.name, default, env), help=_HELP[f.name])
    return p


def from_args(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    # argparse converts string defaults (those read from the environment) with `type` too.
    return Settings(**vars(parser(environ).parse_args(argv)))
