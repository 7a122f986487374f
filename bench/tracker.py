"""A watch that timestamps what it sees: when objects of one list call appear, match a
predicate (e.g. have a podIP), and disappear. Both sides of every comparison are timed
through it."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from kubernetes.aio import client
from kubernetes.aio.client.exceptions import ApiException

from bench.client import JSON, read_json
from dlws_contract import resource

ListCall = Callable[..., Awaitable[Any]]


class Tracker:
    """Follows the objects of one list call (a kind in a namespace, optionally selected by
    label) through a watch started from a list, and records with time.perf_counter():
    when each object first matched `match` (e.g. has a podIP), and when the set of
    existing objects became empty. Used for both sides of each comparison. Objects are
    known by `key` (default: their name)."""

    def __init__(self, call: ListCall, *, match: Callable[[JSON], bool] | None = None,
                 on_match: Callable[[str], None] | None = None, timeout: float = 1800.0,
                 key: Callable[[JSON], str] | None = None, **selector: str) -> None:
        self.call = call
        self.key: Callable[[JSON], str] = key or (lambda obj: str(obj["metadata"]["name"]))
        self.match = match
        self.on_match = on_match  # called with the name, once, when an object first matches
        self.timeout = int(timeout)
        self.selector = {k: v for k, v in selector.items() if v}
        self.present: set[str] = set()
        self.matched: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.emptied_at: float | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    async def start(self) -> None:
        page = await read_json(await self.call(**self.selector, _request_timeout=120.0))
        for item in page.get("items") or []:
            self._see("ADDED", item)
        version = str(page["metadata"]["resourceVersion"])
        self._task = asyncio.create_task(self._follow(version))

    async def _follow(self, version: str) -> None:
        try:
            while True:
                resp = await self.call(watch=True, resource_version=version, allow_watch_bookmarks=True,
                                       timeout_seconds=self.timeout, _request_timeout=self.timeout + 30.0,
                                       **self.selector)
                try:
                    if resp.status != 200:
                        raise ApiException(status=resp.status, reason=(await resp.read())[:300].decode())
                    while line := await resp.content.readline():
                        event = json.loads(line)
                        if event.get("type") == "ERROR":
                            raise ApiException(status=event["object"].get("code"),
                                               reason=str(event["object"].get("message")))
                        obj = event.get("object") or {}
                        version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                        if event.get("type") != "BOOKMARK":
                            self._see(str(event.get("type")), obj)
                finally:
                    resp.release()
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # surfaced to whoever waits
            self._failure = e
            self._changed.set()

    def _see(self, kind: str, obj: JSON) -> None:
        now = time.perf_counter()
        name = self.key(obj)
        if kind == "DELETED":
            self.present.discard(name)
            self.deleted[name] = now
            if not self.present:
                self.emptied_at = now
        else:
            self.present.add(name)
            self.emptied_at = None
            if self.match is not None and name not in self.matched and self.match(obj):
                self.matched[name] = now
                if self.on_match is not None:
                    self.on_match(name)
        self._changed.set()

    async def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            if self._failure is not None:
                raise RuntimeError(f"watch failed while waiting for {what}") from self._failure
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_matched(self, count: int, timeout: float) -> None:
        await self._wait(lambda: len(self.matched) >= count, timeout, f"{count} objects to match")

    async def matched_at(self, name: str, timeout: float) -> float:
        await self._wait(lambda: name in self.matched, timeout, f"{name} to match")
        return self.matched[name]

    async def all_deleted(self, names: Iterable[str], timeout: float) -> None:
        wanted = set(names)
        await self._wait(lambda: wanted <= set(self.deleted), timeout, f"{len(wanted)} objects to be deleted")

    async def empty_at(self, timeout: float) -> float:
        """perf_counter time at which the last object went (now, if none exists)."""
        await self._wait(lambda: not self.present, timeout, "every object to be deleted")
        return self.emptied_at if self.emptied_at is not None else time.perf_counter()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


def pods_call(api: client.ApiClient, namespace: str) -> ListCall:
    core = client.CoreV1Api(api)

    async def call(**kw: Any) -> Any:
        return await core.list_namespaced_pod_without_preload_content(namespace, **kw)
    return call


def jobs_call(api: client.ApiClient, namespace: str) -> ListCall:
    custom = client.CustomObjectsApi(api)

    async def call(**kw: Any) -> Any:
        return await custom.list_namespaced_custom_object_without_preload_content(
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, **kw)
    return call


def configmaps_call(api: client.ApiClient, namespace: str) -> ListCall:
    core = client.CoreV1Api(api)

    async def call(**kw: Any) -> Any:
        return await core.list_namespaced_config_map_without_preload_content(namespace, **kw)
    return call


def has_pod_ip(obj: JSON) -> bool:
    """A Pod with status.podIP, or a DLWSJob whose status shows one."""
    return bool((obj.get("status") or {}).get("podIP"))

