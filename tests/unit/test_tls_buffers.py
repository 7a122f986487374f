"""The operator's TLS read buffers: asyncio's attribute is still there, new connections
get the buffer the configuration asks for, and 0 leaves asyncio alone."""
import asyncio
import ssl
from asyncio import sslproto

import pytest

from dlws_operator import tls_buffers
from dlws_operator.config import OperatorConfig


def read_buffer(request: int) -> int:
    protocol = sslproto.SSLProtocol(asyncio.get_running_loop(), asyncio.Protocol(),
                                    ssl.create_default_context(), None)
    return len(protocol.get_buffer(request))


async def test_new_tls_connections_get_the_smaller_read_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Restored after the test: the rest of the unit tests keep asyncio's default.
    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", sslproto.SSLProtocol.max_size)
    size = OperatorConfig().tls_read_buffer
    assert tls_buffers.apply(size)  # fails here, not silently in production, if asyncio moves it
    assert read_buffer(-1) == size == 64 * 1024
    assert read_buffer(1 << 20) == size


async def test_zero_leaves_asyncios_own_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", sslproto.SSLProtocol.max_size)
    own = sslproto.SSLProtocol.max_size
    assert not tls_buffers.apply(0)
    assert sslproto.SSLProtocol.max_size == own and read_buffer(-1) == own
