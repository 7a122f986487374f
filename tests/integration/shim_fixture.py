"""Runs dlws-api-shim against the test control plane, and makes family roots the way a
user would, reading their token the way their job sees it."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiohttp
import pytest
import pytest_asyncio
from kubernetes.aio import client
from kubernetes.aio.client.exceptions import ApiException

from dlws_contract import resource
from tests.integration.processes import ManagedProcess

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def shim_url() -> str:
    """Where the shim listens in tests; the operator injects it into pods as DLWS_REST_API."""
    return f"http://127.0.0.1:{free_port()}/"


def shim_process(kubeconfig: Path, port: int, log_path: Path, *flags: str,
                 host: str = "127.0.0.1") -> ManagedProcess:
    """A dlws-api-shim process (not started), its stdout and stderr in log_path."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    proc = ManagedProcess(
        [str(BIN / "dlws-api-shim"), "--host", host, "--port", str(port),
         "--kubeconfig", str(kubeconfig), *flags],
        env=env, log_path=log_path, ready_url=f"http://{host}:{port}/readyz")
    proc.url = f"http://{host}:{port}/"  # type: ignore[attr-defined]
    return proc


@pytest.fixture(scope="session")
def shim(identities: Any, shim_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The shim at shim_url, as its ServiceAccount (manifests/rbac): every test through it
    also proves its ClusterRole is enough. `.log_text()` is its access log and all."""
    port = urlparse(shim_url).port
    assert port is not None
    proc = shim_process(identities.shim_kubeconfig, port,
                        tmp_path_factory.mktemp("shim") / "shim.log")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def extra_shim(identities: Any, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Starts more shims with other flags (e.g. small limits); stopped after the test."""
    started: list[Any] = []

    def start(*flags: str) -> Any:
        proc = shim_process(identities.shim_kubeconfig, free_port(),
                            tmp_path / f"shim-{len(started)}.log", *flags)
        proc.start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@dataclass(frozen=True)
class Root:
    """A family root, with what its job sees: $FAMILY_TOKEN and $DLWS_REST_API."""
    name: str
    namespace: str
    uid: str
    digest: str
    token: str
    rest_api: str
    env: dict[str, str]


async def _pod_env(core: client.CoreV1Api, namespace: str, name: str,
                   timeout: float) -> list[Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            pod = await core.read_namespaced_pod(resource.pod_name(name), namespace)
            return list(pod.spec.containers[0].env or [])
        except ApiException as e:
            if e.status != 404 or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.2)


async def make_root(api: client.ApiClient, namespace: str, name: str | None = None,
                    timeout: float = 60.0, **spec: Any) -> Root:
    """Creates a root DLWSJob as a user would, waits for the operator to make its family,
    then reads FAMILY_TOKEN as the job's Pod gets it: env -> secretKeyRef -> Secret (read
    here as admin, as the kubelet would)."""
    from tests.integration.jobs import Jobs

    jobs = Jobs(api, namespace)
    made = await jobs.root(name, **spec)
    name = made["metadata"]["name"]
    ready = await jobs.family_ready(name, timeout=timeout)
    core = client.CoreV1Api(api)
    env: dict[str, str] = {}
    token = ""
    for var in await _pod_env(core, namespace, name, timeout):
        if var.value is not None:
            env[var.name] = var.value
        elif var.name == "FAMILY_TOKEN":
            ref = var.value_from.secret_key_ref
            secret = await core.read_namespaced_secret(ref.name, namespace)
            token = base64.b64decode(secret.data[ref.key]).decode()
    assert token, f"the pod of {name} has no FAMILY_TOKEN from a Secret"
    env["FAMILY_TOKEN"] = token
    return Root(name=name, namespace=namespace, uid=ready["metadata"]["uid"],
                digest=ready["metadata"]["labels"][resource.LABEL_FAMILY], token=token,
                rest_api=env["DLWS_REST_API"], env=env)


class ShimClient:
    """Calls the shim as a job would: GET with the token in the query."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.bodies: list[str] = []  # every response body, to search for tokens

    async def call(self, op: str, token: str | None, **params: Any) -> tuple[int, dict[str, Any], Any]:
        query = {k: str(v) for k, v in params.items()}
        if token is not None:
            query["familyToken"] = token
        async with self.session.get(f"{self.url}/child/{op}", params=query) as resp:
            text = await resp.text()
            self.bodies.append(text)
            return resp.status, json.loads(text), resp.headers

    async def submit(self, token: str, **params: Any) -> dict[str, Any]:
        job = {"jobName": "child", "resourcegpu": 0, "dataPath": "data", "image": "busybox",
               "jobType": "training", "cmd": "sleep 3600", **params}
        status, body, _ = await self.call("SubmitJob", token, **job)
        assert status == 200, body
        return body


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
        yield session
