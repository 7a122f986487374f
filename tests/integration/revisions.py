"""Where kills began and writes landed, in etcd's order: watches on a namespace's
DLWSJobs and Pods that keep, for each object, the revision of its create and of the write
that set its deletionTimestamp (resourceVersions from one etcd compare as integers). The
kill-race tests judge "created after the kill began" by these."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes.aio import client

from dlws_contract import kube_api, resource
from dlws_contract.list_watch import ListWatch


@dataclass(frozen=True)
class Seen:
    """One object in one watch event: its name, its job (a DLWSJob's parent, a Pod's job),
    the revision of the event's write, whether it is being deleted, and when the watch
    delivered it (this machine's clock: on a real node, the containers' clock too)."""
    name: str
    owner: str | None
    revision: int
    deleting: bool
    at: float = field(default_factory=time.time, compare=False)


def seen_job(obj: Mapping[str, Any]) -> Seen:
    meta = obj.get("metadata") or {}
    return Seen(meta["name"], (meta.get("labels") or {}).get(resource.LABEL_PARENT),
                int(meta["resourceVersion"]), bool(meta.get("deletionTimestamp")))


def seen_pod(obj: Mapping[str, Any]) -> Seen:
    meta = obj.get("metadata") or {}
    return Seen(meta["name"], (meta.get("labels") or {}).get(resource.LABEL_JOB),
                int(meta["resourceVersion"]), bool(meta.get("deletionTimestamp")))


@dataclass
class Revisions:
    """A ListWatch cache that keeps revisions, not objects. Objects in the first list
    existed before the races: their creation is not needed. A second list would mean
    the watch lost its place and events may be missing: the test then fails."""
    lists: int = 0
    owner: dict[str, str | None] = field(default_factory=dict)
    created: dict[str, Seen] = field(default_factory=dict)   # the first event after the list: ADDED
    killed: dict[str, Seen] = field(default_factory=dict)    # the first event with deletionTimestamp
    gone: set[str] = field(default_factory=set)

    def replace_all(self, objects: list[Seen]) -> None:
        self.lists += 1
        for obj in objects:
            self.owner[obj.name] = obj.owner
            if obj.deleting:
                self.killed.setdefault(obj.name, obj)

    def upsert(self, obj: Seen) -> None:
        if obj.name not in self.owner:
            self.created[obj.name] = obj
        self.owner[obj.name] = obj.owner
        if obj.deleting:
            self.killed.setdefault(obj.name, obj)

    def remove(self, obj: Seen) -> None:
        self.owner.setdefault(obj.name, obj.owner)
        self.killed.setdefault(obj.name, obj)  # deleted at once, with no foreground
        self.gone.add(obj.name)

    def above(self, job: str) -> list[str]:
        """The jobs above `job`, parent first."""
        chain: list[str] = []
        parent = self.owner.get(job)
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = self.owner.get(parent)
        return chain

    def kill_began(self, job: str) -> Seen | None:
        """The write that began the first kill of a job above `job`, if any."""
        kills = [self.killed[j] for j in self.above(job) if j in self.killed]
        return min(kills, key=lambda k: k.revision) if kills else None

    def after_kill(self, job: str, write: Seen) -> bool:
        began = self.kill_began(job)
        return began is not None and write.revision > began.revision


class Watching:
    """The DLWSJobs and the jobs' Pods of one namespace, watched while in a `with`."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.jobs, self.pods = Revisions(), Revisions()
        self.watches = [
            ListWatch(api, kube_api.job_path(namespace), self.jobs, seen_job, request_timeout=30, what="jobs"),
            ListWatch(api, kube_api.core_path(namespace, "pods"), self.pods, seen_pod,
                      label_selector=resource.LABEL_JOB, request_timeout=30, what="pods")]
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Watching:
        self.tasks = [asyncio.create_task(w.run()) for w in self.watches]
        for w in self.watches:
            await asyncio.wait_for(w.synced.wait(), 30)
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
