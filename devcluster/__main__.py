"""python -m devcluster up|down|status|dev|demo [--state DIR] [--node real|kwok] [--in-cluster]"""
from __future__ import annotations

import argparse
import signal
import sys

from devcluster import demo, dev
from devcluster.addon import AddonError
from devcluster.binaries import BuildError
from devcluster.cluster import ClusterStartError, LocalCluster
from devcluster.nodes import DEFAULT_NODES
from devcluster.real_node import RealNodeUnavailable
from devcluster.services import ServicesUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "dev", "demo"])
    parser.add_argument("--state", default=".cluster", help="state directory (default: .cluster)")
    parser.add_argument("--node", choices=["real", "kwok"], default="kwok",
                        help="one real node that runs containers, or kwok's fake nodes (default: kwok)")
    parser.add_argument("--nodes", type=int, default=DEFAULT_NODES, help="number of kwok nodes")
    parser.add_argument("--in-cluster", action="store_true",
                        help="Services for pods (kube-proxy, CoreDNS); `dev` then installs the add-on with "
                             "kubectl apply -k and runs the operator and the shim as Pods (real node only)")
    args = parser.parse_args(argv)
    # SIGTERM while starting: unwind like Ctrl-C, so `up` stops what it has started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        if args.command == "dev":
            return dev.run(args.state, args.node, args.in_cluster)
        if args.command == "demo":
            return demo.run(args.state)
        if args.in_cluster and args.node != "real":
            parser.error("--in-cluster needs --node real (kwok's pods run no process)")
        cluster = LocalCluster(args.state, node_count=args.nodes, node_kind=args.node, in_cluster=args.in_cluster)
        if args.command == "up":
            was_running = cluster.info() is not None
            info = cluster.up()
            print(f"kubeconfig: {info.kubeconfig}")
            print(f"  {info.kubectl} --kubeconfig {args.state}/kubeconfig get nodes")
            if not was_running:
                print(f"started in {info.startup_seconds:.1f}s: {info.steps}")
            return 0
        if args.command == "down":
            cluster.down()
            return 0
        current = cluster.info()
        if current is None:
            print(f"not running ({cluster.layout.state_dir})")
            return 1
        services = ", Services for pods" if current.in_cluster else ""
        print(f"running: {current.server} ({current.node_kind} nodes{services}), kubeconfig {current.kubeconfig}")
        for name, pid in current.pids.items():
            print(f"  {name:<24} pid {pid}")
        return 0
    except (ClusterStartError, BuildError, RealNodeUnavailable, ServicesUnavailable, AddonError) as e:
        print(f"devcluster: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130  # `up` has already stopped what it started


if __name__ == "__main__":
    sys.exit(main())
