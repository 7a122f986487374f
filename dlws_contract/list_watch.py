"""Keeps an in-memory cache in step with one collection on the API server: list, then
watch from that version (what client-go calls a reflector).

A watch that ends (server timeout) is resumed from the last version seen, bookmarks
included; one that fails is retried with backoff from the same version; a version the
server no longer has (410 Gone) makes a fresh list. The shim's job index and the
operator's pod cache are both fed by one of these.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, Protocol, TypeVar

from kubernetes.aio.client.api_client import ApiClient
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import kube_api

log = logging.getLogger(__name__)

Object = Mapping[str, Any]
T = TypeVar("T")

LIST_PAGE: Final = 500
# The server ends each watch after this long (spread so replicas do not relist together);
# the client gives it a margin before calling the connection dead.
WATCH_SECONDS: Final = (240, 300)
CLIENT_MARGIN: Final = 30.0
BACKOFF_MAX: Final = 30.0


class Cache(Protocol[T]):
    """What a ListWatch keeps in step, given each object as the ListWatch's `keep` made
    it. Called on the event loop, one call at a time."""

    def replace_all(self, objects: list[T]) -> None:
        """The whole collection, after a (re)list: whatever is not in it is gone."""

    def upsert(self, obj: T) -> None: ...

    def remove(self, obj: T) -> None: ...


class Expired(Exception):
    """The resourceVersion we hold is too old: list again."""


class ListWatch(Generic[T]):
    """`keep` turns each object into what the cache holds, as it arrives: a list of
    thousands of objects is never held in full, only what the cache keeps of each."""

    def __init__(self, api: ApiClient, path: str, cache: Cache[T], keep: Callable[[Object], T], *,
                 request_timeout: float, label_selector: str | None = None, what: str = "objects") -> None:
        self.api = api
        self.path = path
        self.cache = cache
        self.keep = keep
        self.request_timeout = request_timeout
        self.selector: list[tuple[str, Any]] = [("labelSelector", label_selector)] if label_selector else []
        self.what = what
        self.synced = asyncio.Event()  # set once the first full list is in the cache

    async def run(self) -> None:
        """Runs until cancelled; never raises otherwise."""
        version: str | None = None
        delay = 0.5
        while True:
            try:
                if version is None:
                    version = await self._relist()
                version = await self._watch(version)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Expired:
                log.info("%s watch version expired; listing again", self.what)
                version = None
            except Exception as e:  # keep the cache alive through any API trouble
                log.warning("%s watch failed (%s); retrying in %.1fs", self.what, _describe(e), delay)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, BACKOFF_MAX)

    async def _relist(self) -> str:
        objects: list[T] = []
        cont: str | None = None
        version = ""
        while True:
            query = [*self.selector, ("limit", LIST_PAGE)] + ([("continue", cont)] if cont else [])
            try:
                page = await kube_api.request(self.api, "GET", self.path, query=query,
                                              timeout=self.request_timeout * 3)
            except ApiException as e:
                if e.status == 410 and cont:  # the continue token expired: start over
                    objects, cont, version = [], None, ""
                    continue
                raise
            meta = page.get("metadata") or {}
            if not version:
                version = str(meta.get("resourceVersion", ""))
            objects.extend(self.keep(item) for item in page.get("items") or [])
            cont = meta.get("continue") or None
            if not cont:
                break
        self.cache.replace_all(objects)
        self.synced.set()
        log.info("listed %d %s at version %s", len(objects), self.what, version)
        return version

    async def _watch(self, version: str) -> str:
        seconds = random.randint(*WATCH_SECONDS)
        query = [*self.selector, ("watch", "true"), ("allowWatchBookmarks", "true"),
                 ("resourceVersion", version), ("timeoutSeconds", seconds)]
        resp = await kube_api.send(self.api, "GET", self.path, query=query, timeout=seconds + CLIENT_MARGIN)
        stream = resp.response
        try:
            if resp.status == 410:
                raise Expired()
            if resp.status != 200:
                body = (await stream.read())[:300].decode("utf-8", "replace")
                raise ApiException(status=resp.status, reason=body)
            while True:
                line = await stream.content.readline()
                if not line:
                    return version  # the server ended the watch: resume from here
                version = self.apply(json.loads(line), version)
        finally:
            stream.release()

    def apply(self, event: Mapping[str, Any], version: str) -> str:
        """One watch event into the cache; returns the version to resume from."""
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Expired()
            raise ApiException(status=obj.get("code"), reason=str(obj.get("message", ""))[:300])
        new_version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
        if kind in ("ADDED", "MODIFIED"):
            self.cache.upsert(self.keep(obj))
        elif kind == "DELETED":
            self.cache.remove(self.keep(obj))
        # BOOKMARK: only the version moves on.
        return new_version


def _describe(error: BaseException) -> str:
    if isinstance(error, ApiException):
        return f"HTTP {error.status} {str(error.reason)[:200]}"
    return f"{type(error).__name__}: {str(error)[:200]}"
