"""Admin kubeconfig files: written for the local cluster, read back for reuse."""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

NAME = "dlws-devcluster"


@dataclass(frozen=True)
class Access:
    """How to reach an API server as the identity a kubeconfig names."""

    server: str
    ca_data: bytes
    token: str


def write(path: Path, *, server: str, ca_file: Path, token: str) -> None:
    """A self-contained kubeconfig (CA embedded), so it can be copied or used from anywhere."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": NAME,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": f"{NAME}-admin", "user": {"token": token}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": f"{NAME}-admin"}}],
        "current-context": NAME,
        "preferences": {},
    }
    tmp = path.with_suffix(".tmp")
    # It holds the admin token: readable by its owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    tmp.replace(path)


def _named(items: list[dict[str, Any]], name: str, what: str) -> dict[str, Any]:
    for item in items:
        if item.get("name") == name:
            return item
    raise ValueError(f"kubeconfig has no {what} named {name!r}")


def read(path: Path) -> Access:
    """The current context's server, CA and bearer token (token auth only)."""
    doc = yaml.safe_load(path.read_text())
    context = _named(doc.get("contexts") or [], doc.get("current-context", ""), "context")["context"]
    cluster = _named(doc.get("clusters") or [], context["cluster"], "cluster")["cluster"]
    user = _named(doc.get("users") or [], context["user"], "user")["user"]
    if "certificate-authority-data" in cluster:
        ca = base64.b64decode(cluster["certificate-authority-data"])
    elif "certificate-authority" in cluster:
        ca_path = Path(cluster["certificate-authority"])
        ca = (ca_path if ca_path.is_absolute() else path.parent / ca_path).read_bytes()
    else:
        raise ValueError(f"{path}: the cluster has no certificate authority")
    token = user.get("token") or ""
    if not token and user.get("tokenFile"):
        token = Path(user["tokenFile"]).read_text().strip()
    if not token:
        raise ValueError(f"{path}: the user has no bearer token")
    return Access(server=cluster["server"], ca_data=ca, token=token)
