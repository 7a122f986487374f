"""The Argo CD health check for DLWSJob, run in a real Lua interpreter against sample statuses."""
from typing import Any

import pytest
import yaml

from tests.argocd_health import ARGOCD, SCRIPT, health


@pytest.mark.parametrize("status, expected", [
    (None, "Progressing"),
    ({}, "Progressing"),
    ({"phase": "Pending"}, "Progressing"),
    ({"phase": "Running"}, "Healthy"),
    ({"phase": "Succeeded"}, "Healthy"),
    ({"phase": "Failed", "message": "container exited with code 1"}, "Degraded"),
    ({"phase": "Killing"}, "Progressing"),
])
def test_health_follows_the_phase(status: dict[str, Any] | None, expected: str) -> None:
    obj: dict[str, Any] = {"metadata": {"name": "j"}}
    if status is not None:
        obj["status"] = status
    assert health(obj)[0] == expected


def test_failed_job_shows_its_message() -> None:
    assert health({"status": {"phase": "Failed", "message": "boom"}}) == ("Degraded", "boom")


def test_the_configmap_patch_carries_the_same_script() -> None:
    cm = yaml.safe_load((ARGOCD / "argocd-cm-patch.yaml").read_text())
    inlined = cm["data"]["resource.customizations.health.dlworkspace.io_DLWSJob"]
    assert inlined.strip() == SCRIPT.strip()
