"""A real, local Kubernetes control plane for development and tests.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake nodes), built
from the Go module proxy by build.sh and run as plain processes from one state directory:

    python -m devcluster up|down|status|dev [--state DIR]

Run from the checkout; not part of the installed distribution.
"""
from devcluster.cluster import ClusterInfo, ClusterStartError, LocalCluster

__all__ = ["ClusterInfo", "ClusterStartError", "LocalCluster"]
