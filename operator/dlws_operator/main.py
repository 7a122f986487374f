"""dlws-operator's command line: reads its configuration and runs kopf. The handlers kopf runs
are registered by app.py (the process) and lifecycle.py (the jobs); kopf's configuration
is kopf_config.py."""
import argparse
import os

import kopf
from prometheus_client import start_http_server

from dlws_operator import app, kopf_config, tls_buffers  # noqa: F401  (app registers the handlers)
from dlws_operator.runtime import Runtime
from dlws_operator.config import OperatorConfig


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlws-operator", description=__doc__)
    parser.add_argument("--namespace", "-n", action="append", default=[],
                        help="watch only this namespace (repeatable); default: the whole cluster")
    parser.add_argument("--liveness", default="http://0.0.0.0:8080/healthz",
                        help="liveness endpoint URL (default %(default)s)")
    parser.add_argument("--metrics-port", type=int, default=9090,
                        help="Prometheus metrics port (default %(default)s); 0 disables")
    # Every address: in a pod, Prometheus and the Service reach it on the pod's IP.
    parser.add_argument("--metrics-host", default="0.0.0.0",
                        help="address the metrics server binds (default %(default)s)")
    parser.add_argument("--kubeconfig", help="kubeconfig file; default: in-cluster config in a pod, "
                        "else $KUBECONFIG or ~/.kube/config")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="debug logs, and kopf's per-job INFO lines (\"Handler ... succeeded\")")
    return parser


def main(argv: list[str] | None = None) -> None:
    cli = argument_parser()
    args = cli.parse_args(argv)
    try:  # here, not in a kopf startup handler, which would retry a bad value forever
        config = OperatorConfig.from_env()
    except ValueError as exc:
        cli.error(str(exc))
    if args.kubeconfig:
        # Both kopf's own login and our kubernetes.aio client read it from here.
        os.environ["KUBECONFIG"] = args.kubeconfig
    kopf_config.prepare(verbose=args.verbose)
    tls_buffers.apply(config.tls_read_buffer)
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.metrics_host)
    kopf.run(
        # One replica (Deployment strategy Recreate): no peering objects are needed.
        standalone=True,
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        liveness_endpoint=args.liveness,
        memo=Runtime(config, args.namespace),
    )


if __name__ == "__main__":
    main()
