"""The add-on installed as a user installs it (IN_CLUSTER=1): the project's image built by
`make image` (image/build.sh), imported into the real node's containerd as if pulled, and
`kubectl apply -k manifests/overlays/local`, which is the shipped manifests with only the
image swapped for the local one. The operator and the shim then run as Pods under their
own ServiceAccounts, and jobs reach the shim through its Service's DNS name."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devcluster import real_node
from devcluster.binaries import Binaries
from devcluster.cluster import ClusterInfo
from devcluster.layout import Layout

REPO = Path(__file__).resolve().parents[1]
IMAGE_BUILD = REPO / "image" / "build.sh"
OVERLAY = REPO / "manifests" / "overlays" / "local"
NAMESPACE = "dlws-system"
OPERATOR, SHIM = "dlws-operator", "dlws-api"
DEPLOYMENTS = (OPERATOR, SHIM)
# What the shipped manifests give every job as DLWS_REST_API (manifests/operator).
SHIM_URL = f"http://{SHIM}.{NAMESPACE}.svc:5000/"
OPERATOR_METRICS_URL = f"http://{OPERATOR}-metrics.{NAMESPACE}.svc:9090/metrics"
READY_TIMEOUT = 300.0


class AddonError(RuntimeError):
    pass


@dataclass(frozen=True)
class Installed:
    """What install() did, and how long each part took (seconds)."""

    image: Path
    image_build: float
    image_import: float
    apply_to_ready: float


def build_image() -> Path:
    """`make image`: a no-op apart from a check when the image is built and current."""
    result = subprocess.run([str(IMAGE_BUILD)], stdout=subprocess.PIPE, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        raise AddonError(f"{IMAGE_BUILD} failed with code {result.returncode}")
    return Path(lines[-1])


def install(info: ClusterInfo, say: Callable[[str], None]) -> Installed:
    if not info.in_cluster:
        raise AddonError(f"the cluster at {info.state_dir} has no Services for pods; start it with IN_CLUSTER=1")
    t0 = time.monotonic()
    image = build_image()
    t1 = time.monotonic()
    plan = real_node.NodePlan.of(Layout.at(info.state_dir))  # its containerd socket
    real_node.import_images(plan, Binaries(info.bin_dir), [image])
    t2 = time.monotonic()
    say(f"image {image.name} imported into the node ({t2 - t1:.1f}s); applying {OVERLAY.relative_to(REPO)}")
    kubectl(info, "apply", "-k", str(OVERLAY))
    # The jobs' storage, as `make dev` gives the operator outside the cluster: a directory
    # of this cluster's state (manifests/components/storage-host-path sets one on yours).
    kubectl(info, "set", "env", f"deployment/{OPERATOR}", "-n", NAMESPACE,
            f"DLWS_OPERATOR_STORAGE_HOST_PATH={Layout.at(info.state_dir).job_storage_dir}")
    for name in DEPLOYMENTS:
        kubectl(info, "rollout", "status", f"deployment/{name}", "-n", NAMESPACE,
                f"--timeout={int(READY_TIMEOUT)}s", timeout=READY_TIMEOUT + 30)
    t3 = time.monotonic()
    say(f"{' and '.join(DEPLOYMENTS)} ready {t3 - t2:.1f}s after kubectl apply -k")
    return Installed(image, round(t1 - t0, 2), round(t2 - t1, 2), round(t3 - t2, 2))


def kubectl(info: ClusterInfo, *args: str, timeout: float = 120.0) -> str:
    result = subprocess.run([str(info.kubectl), f"--kubeconfig={info.kubeconfig}", *args],
                            capture_output=True, text=True, check=False, timeout=timeout,
                            env=real_node.runtime_env(Binaries(info.bin_dir)))
    if result.returncode != 0:
        raise AddonError(f"kubectl {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result.stdout
