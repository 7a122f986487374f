#!/usr/bin/env python3
"""Check the two lock files against each other (run by `make lock` and tests/unit).

    python3 requirements/check_pins.py [DIR]

Every requirement in runtime.txt and dev.txt is pinned with `==` and carries --hash
options, and each package of runtime.txt is in dev.txt at the same version with the same
hashes: the image and the development virtualenv run the same dependencies.
Standard library only.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) of a pip-compile --generate-hashes output file."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    text = re.sub(r"\\\n", " ", path.read_text())  # join continued lines
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = line.split()
        m = REQUIREMENT.match(spec)
        if not m:
            raise ValueError(f"{path.name}: not a pinned requirement: {line!r}")
        hashes = frozenset(o.removeprefix("--hash=") for o in options if o.startswith("--hash="))
        if not hashes or len(hashes) != len(options):
            raise ValueError(f"{path.name}: {m[1]} must carry --hash options only: {line!r}")
        name = normalise(m[1])
        if name in pins:
            raise ValueError(f"{path.name}: {name} pinned twice")
        pins[name] = (m[2], hashes)
    return pins


def check(directory: Path = HERE) -> list[str]:
    """The problems found; empty when the lock files agree."""
    try:
        runtime, dev = parse(directory / "runtime.txt"), parse(directory / "dev.txt")
    except (OSError, ValueError) as e:
        return [str(e)]
    problems = []
    for name, (version, hashes) in sorted(runtime.items()):
        if name not in dev:
            problems.append(f"{name}=={version} is in runtime.txt but not in dev.txt")
        elif dev[name][0] != version:
            problems.append(f"{name}: runtime.txt has {version}, dev.txt {dev[name][0]}")
        elif dev[name][1] != hashes:
            problems.append(f"{name}=={version}: runtime.txt and dev.txt list different hashes")
    return problems


def main() -> int:
    problems = check(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    for p in problems:
        print(f"check_pins: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
