"""Keeps a JobIndex in step with the API server: list, then watch from that version.

A watch that ends (server timeout) is resumed from the last version seen, bookmarks
included; one that fails is retried with backoff from the same version; a version the
server no longer has (410 Gone) makes a fresh list. The shim never scans jobs per
request: this one stream is its only read of the cluster at large.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from typing import Any, Final

from kubernetes.aio.client import CustomObjectsApi
from kubernetes.aio.client.exceptions import ApiException

from api_shim.job_index import JobIndex
from api_shim.records import JobRecord, record_from_object
from dlws_contract import resource

log = logging.getLogger(__name__)

LIST_PAGE: Final = 500
# The server ends each watch after this long (spread so replicas do not relist together);
# the client gives it a margin before calling the connection dead.
WATCH_SECONDS: Final = (240, 300)
CLIENT_MARGIN: Final = 30.0
BACKOFF_MAX: Final = 30.0


class _Expired(Exception):
    """The resourceVersion we hold is too old: list again."""


class IndexWatcher:
    def __init__(self, api: CustomObjectsApi, index: JobIndex, *, namespace: str | None,
                 request_timeout: float) -> None:
        self.api = api
        self.index = index
        self.namespace = namespace
        self.request_timeout = request_timeout
        self.relists = 0
        self.restarts = 0

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
            except _Expired:
                log.info("watch version expired; listing again")
                version = None
            except Exception as e:  # keep the index alive through any API trouble
                self.restarts += 1
                log.warning("job watch failed (%s); retrying in %.1fs", _describe(e), delay)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, BACKOFF_MAX)

    async def _list_page(self, cont: str | None) -> Mapping[str, Any]:
        common: dict[str, Any] = {"limit": LIST_PAGE, "_continue": cont,
                                  "_request_timeout": self.request_timeout * 3}
        if self.namespace:
            page = await self.api.list_namespaced_custom_object(
                resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL, **common)
        else:
            page = await self.api.list_cluster_custom_object(
                resource.GROUP, resource.VERSION, resource.PLURAL, **common)
        assert isinstance(page, Mapping)
        return page

    async def _relist(self) -> str:
        records: list[JobRecord] = []
        cont: str | None = None
        version = ""
        while True:
            try:
                page = await self._list_page(cont)
            except ApiException as e:
                if e.status == 410 and cont:  # the continue token expired: start over
                    records, cont, version = [], None, ""
                    continue
                raise
            meta = page.get("metadata") or {}
            if not version:
                version = str(meta.get("resourceVersion", ""))
            records.extend(record_from_object(item) for item in page.get("items") or [])
            cont = meta.get("continue") or None
            if not cont:
                break
        self.index.replace_all(records)
        self.relists += 1
        log.info("indexed %d DLWSJobs at version %s", len(records), version)
        return version

    async def _watch(self, version: str) -> str:
        seconds = random.randint(*WATCH_SECONDS)
        common: dict[str, Any] = {"watch": True, "allow_watch_bookmarks": True,
                                  "resource_version": version, "timeout_seconds": seconds,
                                  "_request_timeout": seconds + CLIENT_MARGIN}
        if self.namespace:
            resp = await self.api.list_namespaced_custom_object_without_preload_content(
                resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL, **common)
        else:
            resp = await self.api.list_cluster_custom_object_without_preload_content(
                resource.GROUP, resource.VERSION, resource.PLURAL, **common)
        try:
            if resp.status == 410:
                raise _Expired()
            if resp.status != 200:
                body = (await resp.read())[:300].decode("utf-8", "replace")
                raise ApiException(status=resp.status, reason=body)
            while True:
                line = await resp.content.readline()
                if not line:
                    return version  # the server ended the watch: resume from here
                version = self._apply(json.loads(line), version)
        finally:
            resp.release()

    def _apply(self, event: Mapping[str, Any], version: str) -> str:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Expired()
            raise ApiException(status=obj.get("code"), reason=str(obj.get("message", ""))[:300])
        new_version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
        if kind in ("ADDED", "MODIFIED"):
            self.index.upsert(record_from_object(obj))
        elif kind == "DELETED":
            meta = obj.get("metadata") or {}
            self.index.remove(str(meta.get("namespace", "")), str(meta.get("name", "")))
        # BOOKMARK: only the version moves on.
        return new_version


def _describe(error: BaseException) -> str:
    if isinstance(error, ApiException):
        return f"HTTP {error.status} {str(error.reason)[:200]}"
    return f"{type(error).__name__}: {str(error)[:200]}"
