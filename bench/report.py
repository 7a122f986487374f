"""results.json and results.md: every figure with its baseline, ratio and goal, and what
bounds them: the commit, the machine and the control plane's settings."""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench.figures import Figure
from bench.processes import JOB_CONTROLLER
from devcluster import components

REPO = Path(__file__).resolve().parents[1]

# Flags that bound the figures, with each component's default when the flag is not set.
BOUNDING_FLAGS: dict[str, dict[str, str]] = {
    "kube-controller-manager": {"--kube-api-qps": "20", "--kube-api-burst": "30",
                                "--concurrent-gc-syncs": "20"},
    "kube-apiserver": {"--max-requests-inflight": "400", "--max-mutating-requests-inflight": "200",
                       "--enable-priority-and-fairness": "true"},
    "kube-scheduler": {"--kube-api-qps": "50 (component config)", "--kube-api-burst": "100 (component config)"},
}


def commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": dirty}


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {"nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "implementation": sys.implementation.name,
            "platform": platform.platform(), "loadavg_1_5_15": [round(x, 2) for x in load]}


def _processes() -> list[tuple[int, list[str]]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        found.append((int(entry.name), [a.decode(errors="replace") for a in argv if a]))
    return found


def _flags(argv: list[str]) -> dict[str, str]:
    out = {}
    for arg in argv[1:]:
        if arg.startswith("--"):
            key, _, value = arg.partition("=")
            out[key] = value
    return out


def control_plane(kubeconfig: Path, server: str) -> dict[str, Any]:
    """The bounding flags of the control plane serving `server`, read from its processes'
    command lines (found by the kubeconfig they use, or the API server's port); where a
    process is not visible, devcluster/components.py's values are assumed."""
    port = str(urlparse(server).port)
    mine: dict[str, dict[str, str]] = {}
    others = 0
    for _, argv in _processes():
        if not argv:
            continue
        name = Path(argv[0]).name
        flags = _flags(argv)
        if name == "kube-apiserver":
            if flags.get("--secure-port") == port:
                mine[name] = flags
            else:
                others += 1
        elif name in ("kube-controller-manager", "kube-scheduler") and \
                Path(flags.get("--kubeconfig", "/")).resolve() == kubeconfig.resolve() and \
                JOB_CONTROLLER not in argv:  # not the benchmark's own Job controller
            mine[name] = flags
    settings: dict[str, Any] = {}
    for component, defaults in BOUNDING_FLAGS.items():
        seen = mine.get(component)
        if seen is None:
            assumed = {"kube-controller-manager": {"--kube-api-qps": components.CLIENT_QPS,
                                                   "--kube-api-burst": components.CLIENT_BURST},
                       "kube-scheduler": {"--kube-api-qps": components.CLIENT_QPS,
                                          "--kube-api-burst": components.CLIENT_BURST}}.get(component, {})
            settings[component] = {f: assumed.get(f, f"{d} (default)") for f, d in defaults.items()}
            settings[component]["source"] = "devcluster/components.py (process not visible)"
        else:
            settings[component] = {f: seen.get(f, f"{d} (default, not set)") for f, d in defaults.items()}
            settings[component]["source"] = "its command line"
    settings["kwok"] = {"client rate limit": "no flag (kwok's built-in client settings)"}
    settings["shim and operator"] = {"client": "kubernetes.aio, no client-side rate limit, connection pool "
                                               "32 in the operator (dlws_operator.runtime), 100 in the shim "
                                               "(the library's default)"}
    settings["other_apiservers_on_this_machine"] = others
    return settings


def _num(x: float | None, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    text = f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"
    return f"{text} {unit}".rstrip()


def markdown(doc: dict[str, Any], figures: list[Figure]) -> str:
    meta = doc["meta"]
    lines = [f"# DLWS Job Families benchmark ({meta['sizes']['name']})", ""]
    c = meta["commit"]
    lines.append(f"- commit `{c['commit']}`{' (dirty work tree)' if c['dirty'] else ''}; "
                 f"command `{meta['command']}`; {meta['started']} ({meta['duration_s']:.0f} s)")
    m = meta["machine"]
    lines.append(f"- machine: {m['nproc']} CPUs, Python {m['python']}, {m['platform']}; "
                 f"load average at the start {meta['loadavg_at_start']}, at the end {m['loadavg_1_5_15']}; "
                 f"other API servers running on this "
                 f"machine: {meta['control_plane']['other_apiservers_on_this_machine']}")
    cp = meta["control_plane"]
    kcm = cp["kube-controller-manager"]
    api = cp["kube-apiserver"]
    lines.append(f"- kube-controller-manager (garbage collector): --kube-api-qps={kcm['--kube-api-qps']}, "
                 f"--kube-api-burst={kcm['--kube-api-burst']}, --concurrent-gc-syncs={kcm['--concurrent-gc-syncs']} "
                 f"({kcm['source']})")
    lines.append(f"- kube-apiserver: --max-requests-inflight={api['--max-requests-inflight']}, "
                 f"--max-mutating-requests-inflight={api['--max-mutating-requests-inflight']}; "
                 f"kube-scheduler: --kube-api-qps={cp['kube-scheduler']['--kube-api-qps']}, "
                 f"--kube-api-burst={cp['kube-scheduler']['--kube-api-burst']}")
    if "submit_ip" in doc["measurements"]:
        lines.append(f"- Kubernetes' Job controller (the submit-to-IP peer): kube-controller-manager "
                     f"{JOB_CONTROLLER} with the same --kube-api-qps and --kube-api-burst, run by "
                     f"the benchmark during that measurement")
    lines += ["", "| figure | value | baseline | ratio | goal | pass |", "|---|---|---|---|---|---|"]
    for f in figures:
        r = f.ratio
        passed = {True: "pass", False: "**FAIL**", None: ""}[f.passed]
        base = _num(f.baseline, f.unit) + (f" ({f.baseline_title})" if f.baseline is not None and f.baseline_title else "")
        note = f" — {f.note}" if f.note else ""
        lines.append(f"| {f.title}{note} | {_num(f.value, f.unit)} | {base} | "
                     f"{'' if r is None else _num(r)} | {f.goal_text} | {passed} |")
    errors = doc.get("errors") or {}
    if errors:
        lines += ["", "Measurements that failed:", ""]
        lines += [f"- {name}: {text}" for name, text in errors.items()]
    lines += ["", "How each figure and its baseline are taken: the docstring of its module in bench/ "
              "(latency, throughput, submit_ip, kill_cascade, scale). Details, including the API "
              "server's request counts per measurement, in results.json.", ""]
    return "\n".join(lines)


def write(out: Path, doc: dict[str, Any], figures: list[Figure]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    doc = {**doc, "figures": [f.to_json() for f in figures]}
    json_path, md_path = out / "results.json", out / "results.md"
    json_path.write_text(json.dumps(doc, indent=2, default=_jsonable) + "\n")
    md_path.write_text(markdown(doc, figures))
    return json_path, md_path


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"not JSON: {type(value).__name__}")
