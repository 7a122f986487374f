"""The operator's TLS read buffers: asyncio's attribute is still there, and new
connections get the smaller buffer."""
import asyncio
import ssl
from asyncio import sslproto

import pytest

from dlws_operator import tls_buffers


async def test_new_tls_connections_get_the_smaller_read_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Restored after the test: the rest of the unit tests keep asyncio's default.
    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", sslproto.SSLProtocol.max_size)
    assert tls_buffers.apply()  # fails here, not silently in production, if asyncio moves it
    protocol = sslproto.SSLProtocol(asyncio.get_running_loop(), asyncio.Protocol(),
                                    ssl.create_default_context(), None)
    assert len(protocol.get_buffer(-1)) == tls_buffers.READ_BUFFER == 64 * 1024
    assert len(protocol.get_buffer(1 << 20)) == tls_buffers.READ_BUFFER
