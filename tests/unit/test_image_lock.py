"""The hashed lock (requirements/) that the image and the virtualenv share, and the
manifests' image names: the shipped install names an image that must be set, and the
local overlay changes nothing else."""
from __future__ import annotations

import configparser
import functools
import importlib.util
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements"
MANIFESTS = REPO / "manifests"
SHIPPED_IMAGE = "registry.invalid/set-me/dlws-families:0.1.0"
LOCAL_IMAGE = "dlws.local/dlws-families:0.1.0"


@functools.cache
def check_pins() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_pins", REQUIREMENTS / "check_pins.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def names(requirements: str) -> set[str]:
    """The project names of requirement lines (comments and blank lines skipped)."""
    found = set()
    for line in requirements.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            found.add(check_pins().normalise(re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0]))
    return found


def test_runtime_and_dev_pin_their_shared_packages_alike() -> None:
    assert check_pins().check(REQUIREMENTS) == []


@pytest.mark.parametrize("lock", ["runtime.txt", "dev.txt", "build.txt"])
def test_every_requirement_is_pinned_with_hashes(lock: str) -> None:
    pins = check_pins().parse(REQUIREMENTS / lock)  # raises on a line without --hash
    assert pins and all(hashes for _, hashes in pins.values())


def test_the_locks_cover_setup_cfg() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    runtime = check_pins().parse(REQUIREMENTS / "runtime.txt")
    dev = check_pins().parse(REQUIREMENTS / "dev.txt")
    assert names(cfg["options"]["install_requires"]) <= runtime.keys()
    assert names(cfg["options.extras_require"]["test"]) <= dev.keys()
    # kopf_config.py patches a private class of kopf 1.45.
    assert runtime["kopf"][0].startswith("1.45.")


def test_the_build_tools_lock_holds_pyproject_build_requirements() -> None:
    build_system = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]
    build_in = (REQUIREMENTS / "build.in").read_text()
    assert {r.replace(" ", "") for r in build_system["requires"]} <= {
        line.replace(" ", "") for line in build_in.splitlines() if line and not line.startswith("#")}
    assert {"setuptools", "wheel", "pip"} <= check_pins().parse(REQUIREMENTS / "build.txt").keys()


def test_the_dockerfile_installs_the_lock() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/runtime.txt" in dockerfile
    assert "--no-deps ." in dockerfile


def kustomization(folder: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return loaded


# The one other difference: the operator's job defaults, sized for one small machine.
ONE_MACHINE_PATCH = "operator-one-machine.yaml"


def test_the_shipped_install_and_the_local_overlay_differ_in_the_image_and_job_defaults() -> None:
    shipped, local = kustomization(MANIFESTS), kustomization(MANIFESTS / "overlays" / "local")
    assert shipped["resources"] == ["base"] and local["resources"] == ["../../base"]
    assert shipped["images"] == [{"name": "dlws-families", "newName": SHIPPED_IMAGE.rsplit(":", 1)[0],
                                  "newTag": SHIPPED_IMAGE.rsplit(":", 1)[1]}]
    assert local["images"] == [{"name": "dlws-families", "newName": LOCAL_IMAGE.rsplit(":", 1)[0],
                                "newTag": LOCAL_IMAGE.rsplit(":", 1)[1]}]
    assert set(shipped) == {"apiVersion", "kind", "resources", "images"}
    assert set(local) == set(shipped) | {"patches"} and local["patches"] == [{"path": ONE_MACHINE_PATCH}]
    patch = yaml.safe_load((MANIFESTS / "overlays" / "local" / ONE_MACHINE_PATCH).read_text())
    (container,) = patch["spec"]["template"]["spec"]["containers"]
    assert (patch["kind"], patch["metadata"]["name"], set(container)) == ("Deployment", "dlws-operator", {"name", "env"})
    assert all(e["name"].startswith("DLWS_OPERATOR_DEFAULT_") for e in container["env"])


def rendered(folder: Path) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (the kustomizations' YAML is checked above)")
    return subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def test_rendered_the_overlay_is_the_shipped_install_with_the_local_image() -> None:
    shipped, local = rendered(MANIFESTS), rendered(MANIFESTS / "overlays" / "local")
    images = {d["spec"]["template"]["spec"]["containers"][0]["image"]
              for d in yaml.safe_load_all(shipped) if d and d["kind"] == "Deployment"}
    assert images == {SHIPPED_IMAGE}
    assert shipped.count(SHIPPED_IMAGE) == 2 and "dlws.local" not in shipped
    expected = [d for d in yaml.safe_load_all(shipped.replace(SHIPPED_IMAGE, LOCAL_IMAGE)) if d]
    got = [d for d in yaml.safe_load_all(local) if d]
    for doc in got:  # the operator's env gains the defaults, and nothing else changes
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "dlws-operator":
            env = doc["spec"]["template"]["spec"]["containers"][0]["env"]
            assert {e["name"] for e in env if e["name"].startswith("DLWS_OPERATOR_DEFAULT_")} == {
                f"DLWS_OPERATOR_DEFAULT_{k}" for k in ("CPUREQUEST", "CPULIMIT", "MEMORYREQUEST", "MEMORYLIMIT")}
            doc["spec"]["template"]["spec"]["containers"][0]["env"] = [
                e for e in env if not e["name"].startswith("DLWS_OPERATOR_DEFAULT_")]
            if not doc["spec"]["template"]["spec"]["containers"][0]["env"]:
                del doc["spec"]["template"]["spec"]["containers"][0]["env"]
    assert got == expected


def test_the_readme_names_the_job_image_this_checkout_builds() -> None:
    from devcluster.binaries import JOB_IMAGE
    named = set(re.findall(r"dlws\.local/job-python:[\w.-]+", (REPO / "README.md").read_text()))
    assert named == {JOB_IMAGE.ref}
