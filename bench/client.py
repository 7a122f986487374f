"""How the benchmark talks to the API server: only on loopback, with its answers read as
raw JSON (the `_without_preload_content` calls), so that its own client costs stay small
and equal on both sides of every comparison, and with a bound on what it keeps in flight."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import yaml
from kubernetes.aio.client.exceptions import ApiException

T = TypeVar("T")
JSON = dict[str, Any]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Connections kept open at once: enough for every request the benchmark keeps in flight.
POOL = 512


def body(obj: Mapping[str, Any]) -> Any:
    """A plain dict where the generated client's signature names a model: it validates
    the dict into that model itself."""
    return dict(obj)


def require_loopback(kubeconfig: Path) -> str:
    """The server a kubeconfig's current context names; refuses anything off loopback."""
    doc = yaml.safe_load(kubeconfig.read_text())
    context = next(c for c in doc["contexts"] if c["name"] == doc["current-context"])["context"]
    server = str(next(c for c in doc["clusters"] if c["name"] == context["cluster"])["cluster"]["server"])
    host = urlparse(server).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"bench: {server} is not on loopback; the benchmark sends load only to 127.0.0.1")
    return server


async def read_json(resp: Any) -> JSON:
    """Body of a `_without_preload_content` answer (an aiohttp response), as JSON; raises
    ApiException for an error status."""
    try:
        data = await resp.read()
        if resp.status >= 400:
            raise ApiException(status=resp.status, reason=data[:500].decode("utf-8", "replace"))
        return dict(json.loads(data))
    finally:
        resp.release()


async def bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Runs the callables with at most `limit` at once; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(j) for j in jobs)))
