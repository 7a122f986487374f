"""DLWS's storage paths of a job: its rules, in one pure function that the shim (at
SubmitJob) and the operator (for a DLWSJob applied by hand) both apply.

DLWorkspace mounted three directories of one cluster-wide storage into every job
(`GetStoragePath`, `SubmitJob` in src/utils/JobRestAPIUtils.py; ../shared reference
dlws-job-model.md):

    /data <- <storage>/storage/<dataPath>   datasets, shared by every user
    /work <- <storage>/work/<workPath>      the user's own tree
    /job  <- <storage>/work/<jobPath>       this job's directory, inside the user's tree

`workPath` not starting with the user's name is prefixed with it (and defaults to the
user's name); `jobPath` defaults to `<userName>/jobs/<yymmdd>/<jobId>` and, like workPath,
is relative to the user: a job never names another user's tree. Every path refuses `..`,
`\\.`, a leading `/` or `\\`, and NUL, each with its own message naming the parameter.

Resolving is idempotent: resolving resolved paths gives them back, so the shim stores the
resolved paths in the DLWSJob (JobDetail's jobParams show them, as DLWS stored them) and
the operator, resolving again, mounts the same directories.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dlws_contract.spec import InvalidJob, path_problem


DATA_ROOT: Final = "storage"  # <storage>/storage/<dataPath>
WORK_ROOT: Final = "work"     # <storage>/work/<workPath>, <storage>/work/<jobPath>


@dataclass(frozen=True, slots=True)
class StoragePaths:
    """A job's three paths, resolved: relative, normalised ("a/b", no empty or "." parts)."""
    dataPath: str
    workPath: str
    jobPath: str

    @property
    def data_subpath(self) -> str:
        """/data's directory, relative to the storage's root."""
        return _join(DATA_ROOT, self.dataPath)

    @property
    def work_subpath(self) -> str:
        return _join(WORK_ROOT, self.workPath)

    @property
    def job_subpath(self) -> str:
        return _join(WORK_ROOT, self.jobPath)


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def user_problem(user_name: str) -> str | None:
    """Why a user name cannot name the user's directory of the storage, or None."""
    if not user_name or user_name in (".", "..") or any(c in user_name for c in "/\\\x00"):
        return f"userName {user_name[:64]!r} cannot name a directory: no '/', '\\', NUL, '.' or '..'"
    return None


def _normal(value: str) -> str:
    return "/".join(p for p in value.split("/") if p not in ("", "."))


def _under_user(user: str, value: str) -> str:
    """value relative to the user's tree: prefixed with the user's name unless its first
    component is that name (a component, not a prefix: alice2/x is not alice's)."""
    path = _normal(value)
    return path if path.split("/")[0] == user else _join(user, path)


def storage_paths(*, user_name: str, job_id: str, created: datetime.date,
                  dataPath: str = "", workPath: str = "", jobPath: str = "") -> StoragePaths:  # noqa: N803
    """The job's resolved paths, or InvalidJob naming the first path (or the user name)
    that breaks a rule. created: the job's day (jobPath's default <yymmdd>)."""
    for name, value in (("dataPath", dataPath), ("workPath", workPath), ("jobPath", jobPath)):
        if (problem := path_problem(name, value)) is not None:
            raise InvalidJob(problem)
    if (problem := user_problem(user_name)) is not None:
        raise InvalidJob(problem)
    job = _under_user(user_name, jobPath) if _normal(jobPath) else \
        _join(user_name, "jobs", created.strftime("%y%m%d"), job_id)
    return StoragePaths(dataPath=_normal(dataPath), workPath=_under_user(user_name, workPath), jobPath=job)


def storage_problem(spec: Mapping[str, Any]) -> str | None:
    """Why a DLWSJob's spec breaks storage_paths' rules, or None: the operator's check of
    a job applied without the shim (the CRD's validation checks the paths, not userName)."""
    try:
        storage_paths(user_name=str(spec.get("userName", "default")), job_id="-", created=datetime.date.min,
                      dataPath=str(spec.get("dataPath") or ""), workPath=str(spec.get("workPath") or ""),
                      jobPath=str(spec.get("jobPath") or ""))
    except InvalidJob as exc:
        return str(exc)
    return None


def created_day(timestamp: str | None, today: datetime.date) -> datetime.date:
    """The day of a Kubernetes timestamp ("2026-12-07T21:28:25Z"), or today without one."""
    if timestamp:
        try:
            return datetime.datetime.strptime(timestamp[:10], "%Y-%m-%d").date()
        except ValueError:
            pass
    return today


def job_storage_paths(meta: Mapping[str, Any], spec: Mapping[str, Any]) -> StoragePaths:
    """A DLWSJob's resolved paths, as the operator mounts them: its day is its creation's
    (today before it has one). InvalidJob if one breaks the rules (such a job has no Pod)."""
    return storage_paths(user_name=str(spec.get("userName", "default")), job_id=str(meta.get("name", "")),
                         created=created_day(meta.get("creationTimestamp"), datetime.datetime.now(datetime.UTC).date()),
                         dataPath=str(spec.get("dataPath") or ""), workPath=str(spec.get("workPath") or ""),
                         jobPath=str(spec.get("jobPath") or ""))
