"""asyncio's TLS read buffer, sized for an operator that keeps many API connections.

asyncio's SSLProtocol allocates a zero-filled 256 KiB read buffer for every TLS
connection (`SSLProtocol.max_size`), all of it resident from the start. The operator
talks to the API server over two connection pools (ours and kopf's, which has no limit)
plus its watches; while 2,000 jobs were created, tracemalloc put 30 MB at the peak in
these buffers, counting connections closed but not yet garbage-collected. A TLS record
carries at most 16 KiB, so 64 KiB still takes four records per read. The attribute is
not public API: apply() checks it is there and an int, and otherwise leaves asyncio
alone (the operator is then only bigger).
"""
import logging
from asyncio import sslproto
from typing import Final

logger = logging.getLogger(__name__)

READ_BUFFER: Final = 64 * 1024


def apply() -> bool:
    cls = getattr(sslproto, "SSLProtocol", None)
    if cls is None or not isinstance(getattr(cls, "max_size", None), int):
        logger.warning("asyncio.sslproto.SSLProtocol.max_size not found; TLS read buffers left as they are")
        return False
    cls.max_size = READ_BUFFER
    return True
