"""Free loopback ports, so several clusters (dev, tests) can run side by side."""
from __future__ import annotations

import socket


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that were free on 127.0.0.1 a moment ago.

    All sockets stay bound until every port is chosen, so the ports are distinct. The
    ports are only reserved until we return; the components bind them a second later,
    and a start that loses that race fails loudly and cleans up.
    """
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
