"""What the routes need from the API server: three calls on DLWSJobs. (Reads of the
cluster at large come from the watch-fed JobIndex instead; `read` is for what the index
cannot answer: a job it has not seen yet, and whether the jobs above a new child are
alive right now.)

Routes depend on this Protocol, not on Kubernetes, so their HTTP behaviour can be tested
with the in-memory store (tests/memory_store.py) while the Kubernetes store (kube_store.py)
is tested against a real API server.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Protocol


class Unavailable(Exception):
    """The API server could not be reached or failed (5xx, timeout): try again later."""


class Rejected(Exception):
    """The API server refused the object (e.g. 422 from the CRD schema); str() is its reason."""


class Exists(Exception):
    """A job of that name already exists (an idempotent retry, or one still in flight)."""


class Deleted(enum.Enum):
    ACCEPTED = "accepted"    # deletion started, or was already under way
    GONE = "gone"            # no such job, or a different job now has that name


class JobStore(Protocol):
    async def read(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The job as the API server has it now (a quorum read: never older than a write
        that had completed when the read began), or None if there is none."""

    async def create(self, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """Creates the job in one call; raises Exists, Rejected or Unavailable."""

    async def delete(self, namespace: str, name: str, uid: str) -> Deleted:
        """Deletes the job with foreground propagation (its Pod and every descendant
        go first), only if it still has this uid."""

    async def record_kill(self, namespace: str, body: Mapping[str, Any]) -> None:
        """Stores a kill's record (kill_record.build_record): one create; a record of that
        name already there (the same job killed twice) is kept. Raises Unavailable."""

    async def read_log(self, namespace: str, pod: str, container: str, tail_lines: int) -> bytes | None:
        """The last tail_lines lines a container of the Pod printed, through the API
        server; None when there is no such Pod, b"" when it has printed nothing or
        cannot say (not started, its node not answering). Raises Unavailable."""
