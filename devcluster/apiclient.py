"""A tiny JSON client for the few API calls devcluster makes while starting.

The standard library suffices here, and it keeps `up` free of the kubernetes client's
import time and of any default-kubeconfig lookup.
"""
from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        super().__init__(f"{method} {path}: HTTP {status}: {body[:500]}")


class Api:
    def __init__(self, server: str, ca_file: Path, token: str, timeout: float = 10.0) -> None:
        url = urlsplit(server)
        if url.scheme != "https" or url.hostname is None:
            raise ValueError(f"expected an https server URL, got {server!r}")
        self._host = url.hostname
        self._port = url.port or 443
        self._token = token
        self._timeout = timeout
        self._ssl = ssl.create_default_context(cafile=str(ca_file))

    def raw(self, method: str, path: str, body: Any = None) -> tuple[int, str]:
        conn = http.client.HTTPSConnection(
            self._host, self._port, context=self._ssl, timeout=self._timeout
        )
        try:
            headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode(errors="replace")
        finally:
            conn.close()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        status, text = self.raw(method, path, body)
        if not 200 <= status < 300:
            raise ApiError(method, path, status, text)
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def exists(self, path: str) -> bool:
        status, text = self.raw("GET", path)
        if status == 404:
            return False
        if not 200 <= status < 300:
            raise ApiError("GET", path, status, text)
        return True

    def create(self, path: str, body: Any) -> Any:
        """POST; an object that already exists (409) is left as it is."""
        status, text = self.raw("POST", path, body)
        if status == 409:
            return None
        if not 200 <= status < 300:
            raise ApiError("POST", path, status, text)
        return json.loads(text)
