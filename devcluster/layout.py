"""Where a cluster keeps its files: everything under one state directory, except etcd's
data, which lives on tmpfs (fast, and a test cluster has no reason to survive a reboot)."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Marks a directory as ours, so `down` never deletes a directory it did not create
# (a mistyped `--state .` must not wipe the checkout).
MARKER = ".devcluster-state"


def _tmpfs_root() -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return Path(tempfile.gettempdir())


@dataclass(frozen=True)
class Layout:
    state_dir: Path

    @classmethod
    def at(cls, state_dir: Path | str) -> Layout:
        return cls(Path(state_dir).absolute())

    @property
    def marker(self) -> Path:
        return self.state_dir / MARKER

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        """PID files, one per process."""
        return self.state_dir / "run"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def cluster_json(self) -> Path:
        return self.state_dir / "cluster.json"

    @property
    def job_storage_dir(self) -> Path:
        """The jobs' storage on a real node (DLWS's storage-mount-path: /data, /work and
        /job of every job under it), a hostPath the operator is told of; gone with the cluster."""
        return self.state_dir / "job-storage"

    @property
    def kwok_home(self) -> Path:
        """kwok's HOME: it loads ~/.kwok/kwok.yaml when present; ours stays empty."""
        return self.state_dir / "kwok-home"

    @property
    def etcd_data_dir(self) -> Path:
        # Derived from the state dir alone, so `down` finds it even after a crashed `up`.
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:16]
        return _tmpfs_root() / f"dlws-devcluster-{digest}" / "etcd"
