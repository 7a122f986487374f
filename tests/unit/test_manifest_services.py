"""Each Service of manifests/ reaches a port its process serves on every address of its pod
(a pod is reached on its pod IP, never on loopback). Read from the YAML and the programs'
own flag parsers; tests/integration/test_manifests.py applies the manifests to a server."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from api_shim import settings as shim_settings
from dlws_operator.main import argument_parser

MANIFESTS = Path(__file__).parents[2] / "manifests"


def load(path: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((MANIFESTS / path).read_text())
    return document


def container_port(deployment: dict[str, Any], name: str) -> int:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [port] = [p["containerPort"] for p in container["ports"] if p["name"] == name]
    return int(port)


def listens_on(deployment: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Where the Deployment's program binds, by what it serves, from its command line."""
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    args, env = container.get("args", []), {e["name"]: e["value"] for e in container.get("env", [])}
    if container["command"] == ["dlws-operator"]:
        parsed = argument_parser().parse_args(args)
        return {"metrics": (parsed.metrics_host, parsed.metrics_port)}
    settings = shim_settings.from_args(args, environ=env)
    return {"http": (settings.host, settings.port)}


@pytest.mark.parametrize("folder, service, serves", [
    ("operator", "dlws-operator-metrics", "metrics"),
    ("shim", "dlws-api", "http"),
])
def test_the_service_reaches_a_port_served_on_every_address(folder: str, service: str, serves: str) -> None:
    svc, deployment = load(f"{folder}/service.yaml"), load(f"{folder}/deployment.yaml")
    assert svc["metadata"]["name"] == service
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    [port] = [p for p in svc["spec"]["ports"] if p["name"] == serves]
    host, bound = listens_on(deployment)[serves]
    assert host == "0.0.0.0"
    assert bound == container_port(deployment, port["targetPort"])


def test_both_services_are_installed() -> None:
    for folder in ("operator", "shim"):
        assert "service.yaml" in load(f"{folder}/kustomization.yaml")["resources"]

