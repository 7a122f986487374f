"""The control plane's and the real node's binaries and images: built once, cached by
version, by devcluster/build.sh."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

BUILD_SCRIPT = Path(__file__).resolve().with_name("build.sh")
VERSIONS = BUILD_SCRIPT.with_name("versions.env")
EXECUTABLES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok",
               "kubelet", "containerd", "ctr", "containerd-shim-runc-v2", "runc", "kube-proxy", "coredns",
               "cni/bridge", "cni/host-local", "cni/loopback", "cni/portmap")


def pinned(name: str) -> str:
    """A version pinned in versions.env."""
    for line in VERSIONS.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    raise KeyError(f"{VERSIONS} pins no {name}")


@dataclass(frozen=True)
class Image:
    """An image built here and imported into the real node's containerd; never pulled."""

    name: str
    tarball: str  # file name in the images directory

    @property
    def ref(self) -> str:
        return f"{self.name}:{pinned('IMAGES_VERSION')}"


PAUSE_IMAGE = Image("dlws.local/pause", "pause.tar")
# Python 3 and requests, as the seed document's samples need.
JOB_IMAGE = Image("dlws.local/job-python", "job-python.tar")
IMAGES = (PAUSE_IMAGE, JOB_IMAGE)


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Binaries:
    bin_dir: Path

    def path(self, name: str) -> str:
        return str(self.bin_dir / name)

    @property
    def kubectl(self) -> str:
        return self.path("kubectl")

    def image_tarball(self, image: Image) -> Path:
        return self.bin_dir / "images" / image.tarball

    @property
    def kwok_stages(self) -> Path:
        """kwok's own Stage YAMLs, copied from its module next to the binaries."""
        return self.bin_dir / "stage"


def ensure_binaries() -> Binaries:
    """Run build.sh (a no-op apart from a few symlinks when everything is cached).

    Its progress goes to our stderr; a cold build takes tens of minutes.
    """
    result = subprocess.run(
        [str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True, check=False
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise BuildError(f"{BUILD_SCRIPT} failed with code {result.returncode}")
    binaries = Binaries(Path(lines[-1]))
    missing = [n for n in EXECUTABLES if not (binaries.bin_dir / n).exists()]
    missing += [i.tarball for i in IMAGES if not binaries.image_tarball(i).exists()]
    if missing or not binaries.kwok_stages.is_dir():
        raise BuildError(f"{binaries.bin_dir} lacks {missing or 'stage/'} after {BUILD_SCRIPT}")
    return binaries
