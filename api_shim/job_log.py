"""JobDetail's `log`: the tail of the job's output (dlws_contract.job_log), read through the
API server while the job's Pod exists, and from the copy the job's init keeps on its
storage (<jobPath>/logs/joblog.txt) once the Pod is gone.

The shim reads the storage where it runs (Settings.job_storage: the cluster's job storage
mounted read-only into the shim, or the directory itself on a one-machine cluster): no
Pod is started per read, and no job's container is entered. Every directory on the way
is opened without following symbolic links, the file only if it is a regular file: a
job owns its tree and could plant a link to anywhere the shim may read."""
from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import Mapping
from typing import Any

from api_shim.store import JobStore
from dlws_contract import resource
from dlws_contract.job_log import LOG_BYTES, LOG_FILE, LOG_LINES, tail
from dlws_contract.spec import InvalidJob
from dlws_contract.storage import job_storage_paths

CONTAINER = "job"  # pod_spec.CONTAINER_NAME: the container whose output is the job's


def stored_tail(root: str, relative: str) -> str | None:
    """The bounded tail of the file at `relative` under `root`; None if it is not there
    (or is not a regular file reached without a symbolic link)."""
    parts = [p for p in relative.split("/") if p]
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            nxt = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        nxt = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=fd)
        os.close(fd)
        fd = nxt
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        offset = max(0, info.st_size - LOG_BYTES - 1)
        return tail(os.pread(fd, LOG_BYTES + 1, offset), partial=offset > 0)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EACCES):
            return None
        raise
    finally:
        os.close(fd)


def log_file(obj: Mapping[str, Any]) -> str | None:
    """Where the job's log is, relative to the storage's root; None for paths that break
    the rules (such a job had no Pod)."""
    try:
        paths = job_storage_paths(obj.get("metadata") or {}, obj.get("spec") or {})
    except InvalidJob:
        return None
    return f"{paths.job_subpath}/{LOG_FILE}"


async def job_log(store: JobStore, obj: Mapping[str, Any], storage: str) -> str:
    """The job's log: its Pod's, while there is one; else the storage's copy ("" when the
    shim has no storage, or the job never printed or never ran)."""
    meta = obj.get("metadata") or {}
    pod = (obj.get("status") or {}).get("podName") or resource.pod_name(str(meta.get("name", "")))
    live = await store.read_log(str(meta.get("namespace", "")), pod, CONTAINER, LOG_LINES)
    if live is not None:
        return tail(live)
    if not storage or (relative := log_file(obj)) is None:
        return ""
    return await asyncio.to_thread(stored_tail, storage, relative) or ""
