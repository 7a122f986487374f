"""`dlws-api-shim` (api_shim.main.run) on the in-memory store, as a process of its own: for
tests of what the process does on a signal, without a cluster.

    python -m tests.memory_shim --port 5001 --shutdown-delay 1 ...   (any dlws-api-shim flag)

Environment: DLWS_TEST_FAMILY_DIGEST, the digest of the one family (root job `root` in
namespace `team`); DLWS_TEST_CREATE_SECONDS, how long each create takes (a slow API server).
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import Any

from api_shim import main as shim_main
from api_shim import settings as settings_module
from tests.memory_store import MemoryJobStore

NAMESPACE, ROOT = "team", "root"
CREATE_BEGAN = "slow create began"  # logged when a create starts, for the test to wait on

log = logging.getLogger("tests.memory_shim")


class SlowStore(MemoryJobStore):
    def __init__(self, create_seconds: float) -> None:
        super().__init__()
        self.create_seconds = create_seconds

    async def create(self, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        log.info(CREATE_BEGAN)
        await asyncio.sleep(self.create_seconds)
        return await super().create(namespace, body)


def main() -> None:
    settings = settings_module.from_args()
    shim_main.configure_logging(settings.log_level)
    store = SlowStore(float(os.environ.get("DLWS_TEST_CREATE_SECONDS", "0")))
    store.add_root(NAMESPACE, ROOT, os.environ["DLWS_TEST_FAMILY_DIGEST"])
    asyncio.run(shim_main.run(settings, store=store, index=store.index))


if __name__ == "__main__":
    main()
