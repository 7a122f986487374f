"""A family of DLWSJobs drawn as a tree, one job a line, in aligned columns. Pure: the
jobs as the API server sends them, and the time now, give the lines.

The tree comes from the parent labels alone (each child's dlworkspace.io/parent), so it
shows what the shim and the operator act on. Every job given is drawn once: jobs whose
parent is gone are drawn under that parent's name, after a note; jobs whose labels loop
are drawn after a note of their own.
"""
from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from dlws_contract import distributed, kill_record, phases, resource
from dlws_kubectl.age import human_age

HEADER: Final = ("JOB", "JOB NAME", "STATUS", "IP", "GPUS", "AGE")
FOCUS_MARK: Final = " ◀"  # after the job named on the command line
NONE: Final = "<none>"  # an empty cell, as kubectl get prints one
GAP: Final = "   "  # between columns, as kubectl get
ORPHANS_NOTE: Final = "orphans (their parent job is gone):"
LOOP_NOTE: Final = "in a loop of parent labels (no root above them):"
# Box drawing as `tree` draws it: a child's own line, and the lines below it.
MIDDLE, LAST = "├─ ", "└─ "
PASSING, EMPTY = "│  ", "   "


@dataclass(frozen=True, slots=True)
class JobView:
    """What the tree shows of one DLWSJob."""
    name: str
    parent: str | None
    job_name: str
    status: str
    ip: str
    gpus: str
    created: datetime.datetime | None


def _time(text: Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def job_view(obj: Mapping[str, Any]) -> JobView:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    gpus = spec.get("resourcegpu")
    job_status = (phases.KILLED_STATUS if status.get("phase") == kill_record.KILLED_PHASE
                  else phases.job_status(status.get("phase"), bool(meta.get("deletionTimestamp"))))
    if spec.get("jobtrainingtype") == distributed.PS_DIST:
        # One node for the whole distributed job, with its Pods: ready of all.
        total = int(spec.get("numps") or 0) + int(spec.get("numpsworker") or 0)
        job_status += f" ({status.get('readyPods') or f'0/{total}'} pods)"
    return JobView(
        name=str(meta.get("name") or ""),
        parent=(meta.get("labels") or {}).get(resource.LABEL_PARENT) or None,
        job_name=str(spec.get("jobName") or NONE),
        status=job_status,
        ip=str(status.get("podIP") or NONE),
        gpus=str(gpus if gpus is not None else 0),  # the CRD's default
        created=_time(meta.get("creationTimestamp")))


def _order(view: JobView) -> tuple[bool, datetime.datetime, str]:
    """Oldest first, as they were submitted; the name breaks ties."""
    epoch = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    return (view.created is None, view.created or epoch, view.name)


Row = tuple[str, ...] | str  # cells, or a note printed across the columns


def _cells(view: JobView, lead: str, now: datetime.datetime, focus: str | None) -> tuple[str, ...]:
    mark = FOCUS_MARK if view.name == focus else ""
    age = human_age((now - view.created).total_seconds()) if view.created else NONE
    return (lead + view.name + mark, view.job_name, view.status, view.ip, view.gpus, age)


def _tree_rows(top: JobView, children: Mapping[str | None, list[JobView]], seen: set[str],
               now: datetime.datetime, focus: str | None, lead: str = "", prefix: str = "") -> list[Row]:
    """`top` (its line starting with `lead`, the lines below it with `prefix`) and every job
    below it not yet seen, depth first. A stack, not recursion: hand-made labels may chain
    any number of jobs."""
    rows: list[Row] = []
    seen.add(top.name)
    stack: list[tuple[JobView, str, str]] = [(top, lead, prefix)]
    while stack:
        view, lead, prefix = stack.pop()
        rows.append(_cells(view, lead, now, focus))
        kids = [kid for kid in children.get(view.name, []) if kid.name not in seen]
        seen.update(kid.name for kid in kids)
        for i, kid in reversed(list(enumerate(kids))):
            last = i == len(kids) - 1
            stack.append((kid, prefix + (LAST if last else MIDDLE), prefix + (EMPTY if last else PASSING)))
    return rows


def family_rows(jobs: Iterable[Mapping[str, Any]], now: datetime.datetime,
                focus: str | None = None) -> list[Row]:
    """The header, then each root's tree (a job without a parent label), then the orphans
    under the names of their gone parents, then whatever is left (labels in a loop)."""
    views = {view.name: view for view in map(job_view, jobs)}
    children: dict[str | None, list[JobView]] = defaultdict(list)
    for view in sorted(views.values(), key=_order):
        children[view.parent].append(view)
    seen: set[str] = set()
    rows: list[Row] = [HEADER]
    for top in children.get(None, []):
        rows += _tree_rows(top, children, seen, now, focus)
    gone = sorted({v.parent for v in views.values() if v.parent and v.parent not in views},
                  key=lambda parent: _order(children[parent][0]))
    if gone:
        rows.append(ORPHANS_NOTE)
    for parent in gone:
        rows.append((f"{parent} (gone)",) + ("",) * (len(HEADER) - 1))
        orphans = children[parent]
        for i, orphan in enumerate(orphans):
            last = i == len(orphans) - 1
            rows += _tree_rows(orphan, children, seen, now, focus,
                               LAST if last else MIDDLE, EMPTY if last else PASSING)
    left = [view for view in sorted(views.values(), key=_order) if view.name not in seen]
    if left:
        rows.append(LOOP_NOTE)
    for view in left:
        if view.name not in seen:
            rows += _tree_rows(view, children, seen, now, focus)
    return rows


def render(jobs: Iterable[Mapping[str, Any]], now: datetime.datetime, focus: str | None = None) -> list[str]:
    """The lines of the tree: columns as wide as their widest cell, notes as they are."""
    rows = family_rows(jobs, now, focus)
    widths = [max(len(row[i]) for row in rows if isinstance(row, tuple)) for i in range(len(HEADER))]
    return [row if isinstance(row, str) else
            GAP.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in rows]
