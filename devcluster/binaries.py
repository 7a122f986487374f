"""The control-plane binaries: built (once, cached by version) by devcluster/build.sh."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

BUILD_SCRIPT = Path(__file__).resolve().with_name("build.sh")
EXECUTABLES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok")


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
    if missing or not binaries.kwok_stages.is_dir():
        raise BuildError(f"{binaries.bin_dir} lacks {missing or 'stage/'} after {BUILD_SCRIPT}")
    return binaries
