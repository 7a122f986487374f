"""A shim on the in-memory store in a process of its own, with families of known tokens,
so a load generator in this process does not share its CPU time or event loop."""
from __future__ import annotations

import multiprocessing
import socket
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dlws_contract import tokens


@dataclass(frozen=True)
class Family:
    root: str
    token: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(port: int, families: list[Family], jobs_per_family: int, flags: dict[str, Any]) -> None:
    from aiohttp import web

    from api_shim.app import init_app
    from api_shim.settings import Settings
    from tests.memory_store import MemoryJobStore

    store = MemoryJobStore()
    for family in families:
        root = store.add_root("team", family.root, tokens.family_digest(family.token))
        for i in range(jobs_per_family):
            meta = root["metadata"]
            store.put({**root, "metadata": {"name": f"{family.root}-{i}", "namespace": "team",
                                            "labels": {**meta["labels"], "dlworkspace.io/parent": family.root}},
                       "status": {"phase": "Running", "podIP": f"10.0.{i // 250}.{i % 250}"}})
    web.run_app(init_app(Settings(port=port, **flags), store=store, index=store.index), host="127.0.0.1", port=port,
                print=None, access_log=None)


@contextmanager
def shim_process(families: list[Family], *, jobs_per_family: int = 50,
                 **flags: float) -> Iterator[str]:
    port = _free_port()
    proc = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(port, families, jobs_per_family, flags), daemon=True)
    proc.start()
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "readyz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.join(10)
