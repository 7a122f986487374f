"""The folder `operator/` must never shadow the standard library module `operator`.

Python puts the script's directory (for `-c` and `-m`: the current directory) first on
sys.path, so these run from the repository root, where the folder `operator/` sits. With
-S nothing imports the standard `operator` during start-up, which is how a fresh
virtualenv's `python -m pip` once failed in a clean checkout.
"""
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import operator, sys
assert hasattr(operator, "itemgetter") and hasattr(operator, "attrgetter"), operator
print(operator.__file__)
"""


def run_python(*args: str) -> str:
    result = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("flags", [[], ["-I"], ["-S"]], ids=["plain", "isolated", "no-site"])
def test_import_operator_from_the_repository_root_gets_the_standard_library(flags: list[str]) -> None:
    assert (REPO_ROOT / "operator").is_dir()  # the folder that could shadow it is there
    origin = Path(run_python(*flags, "-c", PROBE))
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert origin.resolve().is_relative_to(stdlib), origin
    assert not origin.resolve().is_relative_to(REPO_ROOT)


def test_the_operator_folder_imports_as_dlws_operator() -> None:
    origin = run_python("-c", "import dlws_operator; print(dlws_operator.__file__)")
    assert Path(origin).resolve() == REPO_ROOT / "operator" / "dlws_operator" / "__init__.py"


def test_python_dash_m_starts_from_the_repository_root_without_site() -> None:
    # runpy imports contextlib -> collections -> operator before running the module.
    assert run_python("-S", "-m", "json.tool", "--help").startswith("usage")


def test_the_operator_folder_is_not_a_regular_package() -> None:
    assert not (REPO_ROOT / "operator" / "__init__.py").exists()
