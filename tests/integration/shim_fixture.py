"""Runs dlws-api-shim against the test control plane, and makes family roots the way a
user would, reading their token the way their job sees it."""
from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from kubernetes.aio import client
from kubernetes.aio.client.exceptions import ApiException

from devcluster.commands import Command, shim_command
from devcluster.managed import ManagedProcess
from dlws_contract import resource
from tests.integration.identities import Identities

@pytest.fixture(scope="session")
def shim_command_line(identities: Identities) -> Command:
    """The shim in tests, as its ServiceAccount (manifests/rbac): every test through it
    also proves its ClusterRole is enough."""
    return shim_command(identities.shim_kubeconfig)


@pytest.fixture(scope="session")
def shim_url(shim_command_line: Command) -> str:
    """Where the shim listens in tests; the operator injects it into pods as DLWS_REST_API."""
    return shim_command_line.url


@pytest.fixture(scope="session")
def shim(shim_command_line: Command, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """The shim at shim_url. `.log_text()` is its access log and all."""
    proc = ManagedProcess(shim_command_line, log_dir=tmp_path_factory.mktemp("shim"))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def extra_shim(identities: Identities, tmp_path: Path) -> Iterator[Callable[..., ManagedProcess]]:
    """Starts more shims with other flags (e.g. small limits); stopped after the test."""
    started: list[ManagedProcess] = []

    def start(*flags: str) -> ManagedProcess:
        command = shim_command(identities.shim_kubeconfig, flags=flags,
                               name=f"dlws-api-shim-{len(started)}")
        proc = ManagedProcess(command, log_dir=tmp_path)
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
