"""A job's family from the API server: read once (a GET of the job, one LIST of the
DLWSJobs with its root label, one of its kill records), or kept by a list + watch of each
(dlws_contract.list_watch). Reads only: get, list and watch on dlwsjobs, and list and
watch on configmaps for the kill records (killed jobs shown once gone; none without)."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from kubernetes.aio.client.api_client import ApiClient

from dlws_contract import kill_record, kube_api, list_watch, resource
from kubernetes.aio.client.exceptions import ApiException

Object = Mapping[str, Any]
# The events of one change (a kill: every job below the one it named) arrive within
# moments of each other; waiting this long after the first draws them once.
SETTLE_SECONDS: Final = 0.05


class JobNotFound(LookupError):
    def __init__(self, namespace: str, name: str) -> None:
        super().__init__(f'DLWSJob "{name}" not found in namespace "{namespace}"')


@dataclass(frozen=True)
class Family:
    namespace: str
    root: str  # the value of the family's root label: the root job's name
    job: Object  # the job asked for
    jobs: list[Object]


def name_of(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def family_root(job: Object) -> str:
    """The root label; a job without one (a root the operator has not labelled yet, or a
    hand-made job) is taken as its own family's root."""
    return str(((job.get("metadata") or {}).get("labels") or {}).get(resource.LABEL_ROOT) or name_of(job))


def root_selector(root: str) -> str:
    return f"{resource.LABEL_ROOT}={root}"


def with_job(listed: Iterable[Object], job: Object | None) -> list[Object]:
    """The jobs listed, and `job` too if the list lacks it: the label selector misses a
    root the operator has not labelled yet, and the tree never leaves out the job asked for."""
    jobs = list(listed)
    if job is not None and name_of(job) not in {name_of(j) for j in jobs}:
        jobs.append(job)
    return jobs


def kills_selector(root: str) -> str:
    return f"{root_selector(root)},{kill_record.SELECTOR}"


def with_killed(jobs: list[Object], records: Iterable[Object]) -> list[Object]:
    """The jobs, and those the family's kill records name that are gone, drawn as killed."""
    present = [name_of(j) for j in jobs]
    gone: list[Object] = []
    for obj in records:
        if (record := kill_record.parse_record(obj)) is not None:
            for killed in kill_record.killed_objects(record, present):
                present.append(name_of(killed))
                gone.append(killed)
    return jobs + gone


async def list_kills(kube: kube_api.Kube, namespace: str, root: str) -> list[Object]:
    """The family's kill records; none where this user may not list ConfigMaps."""
    try:
        listed = await kube.request("GET", kube_api.core_path(namespace, "configmaps"),
                                    query=[("labelSelector", kills_selector(root))])
    except ApiException as exc:
        if exc.status == 403:
            return []
        raise
    return list(listed.get("items") or [])


def versions(jobs: Iterable[Object]) -> frozenset[tuple[str, str]]:
    """Equal for two snapshots of the same objects: nothing to draw again."""
    return frozenset((name_of(j), str((j.get("metadata") or {}).get("resourceVersion") or "")) for j in jobs)


async def read_family(api: ApiClient, namespace: str, name: str, *, timeout: float) -> Family:
    kube = kube_api.Kube(api, timeout)
    job = await kube.get(kube_api.job_path(namespace, name))
    if job is None:
        raise JobNotFound(namespace, name)
    root = family_root(job)
    listed = await kube.request("GET", kube_api.job_path(namespace),
                                query=[("labelSelector", root_selector(root))])
    jobs = with_job(listed.get("items") or [], job)
    return Family(namespace, root, job, with_killed(jobs, await list_kills(kube, namespace, root)))


class FamilyCache:
    """A list_watch.Cache: the family's jobs by name; `changed` is set on every change."""

    def __init__(self) -> None:
        self.jobs: dict[str, Object] = {}
        self.changed = asyncio.Event()

    def replace_all(self, objects: list[Object]) -> None:
        self.jobs = {name_of(obj): obj for obj in objects}
        self.changed.set()

    def upsert(self, obj: Object) -> None:
        self.jobs[name_of(obj)] = obj
        self.changed.set()

    def remove(self, obj: Object) -> None:
        self.jobs.pop(name_of(obj), None)
        self.changed.set()


async def watch_family(api: ApiClient, family: Family, *, timeout: float) -> AsyncIterator[list[Object]]:
    """The family each time it has changed since `family`, kept by a list + watch of the
    DLWSJobs with its root label; ends once the family has no job left."""
    cache = FamilyCache()
    watch = list_watch.ListWatch(api, kube_api.job_path(family.namespace), cache, dict, request_timeout=timeout,
                                 label_selector=root_selector(family.root), what="DLWSJobs")
    kills = FamilyCache()
    kills_watch = list_watch.ListWatch(api, kube_api.core_path(family.namespace, "configmaps"), kills, dict,
                                       request_timeout=timeout, label_selector=kills_selector(family.root),
                                       what="kill records")
    task = asyncio.create_task(watch.run())
    kills.changed = cache.changed  # one wake-up for either
    kills_task = asyncio.create_task(kills_watch.run())
    # The job asked for if the selector misses it (a root not labelled yet), until it is seen.
    labelled = resource.LABEL_ROOT in ((family.job.get("metadata") or {}).get("labels") or {})
    extra: Object | None = None if labelled else family.job
    last = versions(family.jobs)
    try:
        while True:
            await cache.changed.wait()
            await asyncio.sleep(SETTLE_SECONDS)
            cache.changed.clear()
            if extra is not None and name_of(extra) in cache.jobs:
                extra = None
            jobs = with_job(cache.jobs.values(), extra)
            if not jobs:
                return
            jobs = with_killed(jobs, kills.jobs.values())
            if versions(jobs) != last:
                last = versions(jobs)
                yield jobs
    finally:
        for running in (task, kills_task):
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
