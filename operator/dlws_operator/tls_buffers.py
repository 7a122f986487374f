"""asyncio's TLS read buffer, sized by the operator's configuration (tls_read_buffer).

asyncio gives every TLS connection a zero-filled 256 KiB read buffer, resident from the
start (`SSLProtocol.max_size`), and the operator keeps many: two pools (ours and kopf's,
unbounded) and its watches. A TLS record is at most 16 KiB. What it saves: docs/benchmarks.md.
Not public API: apply() checks the attribute is there, else leaves asyncio alone.
"""
import logging
from asyncio import sslproto

logger = logging.getLogger(__name__)


def apply(size: int) -> bool:
    """New TLS connections read into `size` bytes; 0 leaves asyncio as it is."""
    if not size:
        return False
    cls = getattr(sslproto, "SSLProtocol", None)
    if cls is None or not isinstance(getattr(cls, "max_size", None), int):
        logger.warning("asyncio.sslproto.SSLProtocol.max_size not found; TLS read buffers left as they are")
        return False
    cls.max_size = size
    return True
