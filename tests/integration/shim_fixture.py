"""Runs dlws-api-shim against the test control plane."""
import socket

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def shim_url() -> str:
    """Where the shim listens in tests; the operator injects it into pods as DLWS_REST_API."""
    return f"http://127.0.0.1:{free_port()}/"
