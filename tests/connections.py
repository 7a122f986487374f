"""What a client sees of a server's listening socket: shared by the shim's shutdown tests
(tests/unit/test_shim_shutdown.py on the in-memory store, tests/integration/test_shim_shutdown.py
against a real API server)."""
from __future__ import annotations

import asyncio


async def refused(url: str) -> bool:
    """Whether a new TCP connection to http://host:port/ is refused (nothing listens)."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except ConnectionRefusedError:
        return True
    writer.close()
    await writer.wait_closed()
    return False
