"""Kubernetes helpers of the benchmark: the client, scratch namespaces, families, and a
watch that records when objects appear, match, and disappear.

Everything reads raw JSON (the `_without_preload_content` calls): the benchmark's own
client costs stay small and equal on both sides of every comparison.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlparse

import yaml
from kubernetes.aio import client, config
from kubernetes.aio.client.exceptions import ApiException

from api_shim.child_job import build_child
from api_shim.records import JobRecord, record_from_object
from dlws_contract import resource
from dlws_contract.http_session import client_session_kwargs
from dlws_contract.spec import JobSpec, spec_from_parameters

T = TypeVar("T")
JSON = dict[str, Any]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
JOB_PARAMS = {"jobName": "bench", "resourcegpu": "0", "dataPath": "d", "image": "busybox",
              "jobType": "training", "cmd": "sleep 3600"}
BENCH_LABEL = "bench.dlworkspace.io/run"


def body(obj: Mapping[str, Any]) -> Any:
    """A plain dict where the generated client's signature names a model: it validates
    the dict into that model itself."""
    return dict(obj)


def require_loopback(kubeconfig: Path) -> str:
    """The server a kubeconfig's current context names; refuses anything off loopback."""
    doc = yaml.safe_load(kubeconfig.read_text())
    context = next(c for c in doc["contexts"] if c["name"] == doc["current-context"])["context"]
    server = str(next(c for c in doc["clusters"] if c["name"] == context["cluster"])["cluster"]["server"])
    host = urlparse(server).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"bench: {server} is not on loopback; the benchmark sends load only to 127.0.0.1")
    return server


async def api_client(kubeconfig: Path, pool: int = 512) -> client.ApiClient:
    """kubernetes.aio's client, as the shim and the operator build theirs, with a
    connection pool large enough for every request the benchmark keeps in flight."""
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig),  # type: ignore[no-untyped-call]
                                  client_configuration=configuration, persist_config=False)
    configuration.connection_pool_maxsize = pool
    configuration.client_session_kwargs = client_session_kwargs(os.environ)
    return client.ApiClient(configuration)


async def read_json(resp: Any) -> JSON:
    """Body of a `_without_preload_content` answer (an aiohttp response), as JSON; raises
    ApiException for an error status."""
    try:
        body = await resp.read()
        if resp.status >= 400:
            raise ApiException(status=resp.status, reason=body[:500].decode("utf-8", "replace"))
        return dict(json.loads(body))
    finally:
        resp.release()


async def bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Runs the callables with at most `limit` at once; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(j) for j in jobs)))


async def until(what: str, check: Callable[[], Awaitable[bool]], timeout: float,
                interval: float = 0.5) -> float:
    """Polls check until true (seconds taken); TimeoutError after timeout."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)
    return time.monotonic() - start


# --- namespaces -----------------------------------------------------------------------


async def create_namespace(api: client.ApiClient, prefix: str, run_id: str) -> str:
    """A fresh namespace, once its `default` ServiceAccount exists (pods need it)."""
    core = client.CoreV1Api(api)
    name = f"bench-{prefix}-{uuid.uuid4().hex[:6]}"
    await core.create_namespace(body({"metadata": {"name": name, "labels": {BENCH_LABEL: run_id}}}))

    async def has_sa() -> bool:
        try:
            await core.read_namespaced_service_account("default", name)
            return True
        except ApiException as e:
            if e.status != 404:
                raise
            return False

    await until(f"ServiceAccount {name}/default", has_sa, 60, interval=0.05)
    return name


async def delete_namespace(api: client.ApiClient, name: str, timeout: float) -> float:
    """Deletes a namespace and waits until it is gone (its objects with it), so the next
    measurement starts on a quiet control plane. Seconds taken."""
    core = client.CoreV1Api(api)
    try:
        await core.delete_namespace(name)
    except ApiException as e:
        if e.status != 404:
            raise

    async def gone() -> bool:
        try:
            await core.read_namespace(name)
            return False
        except ApiException as e:
            if e.status != 404:
                raise
            return True

    return await until(f"namespace {name} to be deleted", gone, timeout)


@asynccontextmanager
async def scratch_namespace(api: client.ApiClient, prefix: str, run_id: str,
                            timeout: float = 600.0) -> AsyncIterator[str]:
    name = await create_namespace(api, prefix, run_id)
    try:
        yield name
    finally:
        await delete_namespace(api, name, timeout)


# --- jobs and families ----------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """A family root as the shim indexes it, and its token read as its Pod gets it."""
    root: JobRecord
    token: str

    @property
    def namespace(self) -> str:
        return self.root.namespace


class JobsApi:
    """DLWSJob calls on one namespace, through kubernetes.aio's CustomObjectsApi."""

    def __init__(self, api: client.ApiClient, namespace: str,
                 params: Mapping[str, str] = JOB_PARAMS) -> None:
        self.api = api
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.spec: JobSpec = spec_from_parameters(params)

    async def create(self, obj: Mapping[str, Any], timeout: float = 30.0) -> JSON:
        """The same call the shim's KubeJobStore.create makes."""
        made = await self.custom.create_namespaced_custom_object(
            resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL, dict(obj),
            field_validation="Strict", _request_timeout=timeout)
        return cast(JSON, made)

    def root_body(self, name: str) -> JSON:
        return {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {**self.spec, "userName": "bench", "userId": 1000}}

    def child_body(self, family: Family, parent: JobRecord, name: str | None = None) -> JSON:
        """A child exactly as the shim's SubmitJob builds it (api_shim.child_job)."""
        return build_child(name=name or str(uuid.uuid4()), spec=self.spec, parent=parent,
                           root=family.root, digest=family.root.family or "")

    async def get(self, name: str) -> JSON | None:
        try:
            return cast(JSON, await self.custom.get_namespaced_custom_object(
                resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL, name))
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    async def patch_status(self, name: str, status: Mapping[str, Any], timeout: float = 60.0) -> bool:
        """Merge-patches the job's status as the operator does; False if the job is gone."""
        try:
            await self.custom.patch_namespaced_custom_object_status(
                resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL, name,
                {"status": dict(status)}, _request_timeout=timeout)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    async def list_jobs(self, label_selector: str | None = None) -> list[JSON]:
        items: list[JSON] = []
        cont: str | None = None
        while True:
            page = await read_json(await self.custom.list_namespaced_custom_object_without_preload_content(
                resource.GROUP, resource.VERSION, self.namespace, resource.PLURAL,
                label_selector=label_selector, limit=500, _continue=cont))
            items.extend(page.get("items") or [])
            cont = (page.get("metadata") or {}).get("continue") or None
            if not cont:
                return items

    async def make_family(self, name: str, timeout: float = 120.0) -> Family:
        """Creates a root as a user would, waits for the operator to give it a family,
        then reads the token from the Secret its Pod's FAMILY_TOKEN refers to."""
        await self.create(self.root_body(name))
        found: JSON = {}

        async def ready() -> bool:
            job = await self.get(name)
            if job and (job.get("status") or {}).get("familyDigest") and \
                    resource.LABEL_FAMILY in (job["metadata"].get("labels") or {}):
                found.update(job)
                return True
            return False

        await until(f"the family of {name}", ready, timeout, interval=0.1)
        secret = await self.core.read_namespaced_secret(resource.family_secret_name(name), self.namespace)
        assert secret.data is not None
        token = base64.b64decode(secret.data[resource.SECRET_TOKEN_KEY]).decode()
        return Family(root=record_from_object(found), token=token)

    async def wait_handled(self, count: int, timeout: float, selector: str | None = None) -> float:
        """Waits until `count` jobs show a podIP in status: the operator made their Pods
        and mirrored them. Seconds taken."""
        async def done() -> bool:
            jobs = await self.list_jobs(selector)
            return sum(1 for j in jobs if (j.get("status") or {}).get("podIP")) >= count

        return await until(f"{count} jobs running with an IP", done, timeout, interval=1.0)


# --- a watch that timestamps what it sees ---------------------------------------------


ListCall = Callable[..., Awaitable[Any]]


class Tracker:
    """Follows the objects of one list call (a kind in a namespace, optionally selected by
    label) through a watch started from a list, and records with time.perf_counter():
    when each object first matched `match` (e.g. has a podIP), and when the set of
    existing objects became empty. Used for both sides of each comparison."""

    def __init__(self, call: ListCall, *, match: Callable[[JSON], bool] | None = None,
                 on_match: Callable[[str], None] | None = None, timeout: float = 1800.0,
                 **selector: str) -> None:
        self.call = call
        self.match = match
        self.on_match = on_match  # called with the name, once, when an object first matches
        self.timeout = int(timeout)
        self.selector = {k: v for k, v in selector.items() if v}
        self.present: set[str] = set()
        self.matched: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.emptied_at: float | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    async def start(self) -> None:
        page = await read_json(await self.call(**self.selector, _request_timeout=120.0))
        for item in page.get("items") or []:
            self._see("ADDED", item)
        version = str(page["metadata"]["resourceVersion"])
        self._task = asyncio.create_task(self._follow(version))

    async def _follow(self, version: str) -> None:
        try:
            while True:
                resp = await self.call(watch=True, resource_version=version, allow_watch_bookmarks=True,
                                       timeout_seconds=self.timeout, _request_timeout=self.timeout + 30.0,
                                       **self.selector)
                try:
                    if resp.status != 200:
                        raise ApiException(status=resp.status, reason=(await resp.read())[:300].decode())
                    while line := await resp.content.readline():
                        event = json.loads(line)
                        if event.get("type") == "ERROR":
                            raise ApiException(status=event["object"].get("code"),
                                               reason=str(event["object"].get("message")))
                        obj = event.get("object") or {}
                        version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                        if event.get("type") != "BOOKMARK":
                            self._see(str(event.get("type")), obj)
                finally:
                    resp.release()
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # surfaced to whoever waits
            self._failure = e
            self._changed.set()

    def _see(self, kind: str, obj: JSON) -> None:
        now = time.perf_counter()
        name = str(obj["metadata"]["name"])
        if kind == "DELETED":
            self.present.discard(name)
            self.deleted[name] = now
            if not self.present:
                self.emptied_at = now
        else:
            self.present.add(name)
            self.emptied_at = None
            if self.match is not None and name not in self.matched and self.match(obj):
                self.matched[name] = now
                if self.on_match is not None:
                    self.on_match(name)
        self._changed.set()

    async def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            if self._failure is not None:
                raise RuntimeError(f"watch failed while waiting for {what}") from self._failure
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_matched(self, count: int, timeout: float) -> None:
        await self._wait(lambda: len(self.matched) >= count, timeout, f"{count} objects to match")

    async def matched_at(self, name: str, timeout: float) -> float:
        await self._wait(lambda: name in self.matched, timeout, f"{name} to match")
        return self.matched[name]

    async def all_deleted(self, names: Iterable[str], timeout: float) -> None:
        wanted = set(names)
        await self._wait(lambda: wanted <= set(self.deleted), timeout, f"{len(wanted)} objects to be deleted")

    async def empty_at(self, timeout: float) -> float:
        """perf_counter time at which the last object went (now, if none exists)."""
        await self._wait(lambda: not self.present, timeout, "every object to be deleted")
        return self.emptied_at if self.emptied_at is not None else time.perf_counter()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


def pods_call(api: client.ApiClient, namespace: str) -> ListCall:
    core = client.CoreV1Api(api)

    async def call(**kw: Any) -> Any:
        return await core.list_namespaced_pod_without_preload_content(namespace, **kw)
    return call


def jobs_call(api: client.ApiClient, namespace: str) -> ListCall:
    custom = client.CustomObjectsApi(api)

    async def call(**kw: Any) -> Any:
        return await custom.list_namespaced_custom_object_without_preload_content(
            resource.GROUP, resource.VERSION, namespace, resource.PLURAL, **kw)
    return call


def configmaps_call(api: client.ApiClient, namespace: str) -> ListCall:
    core = client.CoreV1Api(api)

    async def call(**kw: Any) -> Any:
        return await core.list_namespaced_config_map_without_preload_content(namespace, **kw)
    return call


def has_pod_ip(obj: JSON) -> bool:
    """A Pod with status.podIP, or a DLWSJob whose status shows one."""
    return bool((obj.get("status") or {}).get("podIP"))


# On the benchmark's Pods (and on the kopf floor's jobs): which path made them.
KIND_LABEL = "bench.dlworkspace.io/kind"


def bare_pod(name: str, labels: Mapping[str, str], owner: Mapping[str, Any] | None = None, *,
             image: str = JOB_PARAMS["image"], command: list[str] | None = None,
             port: int | None = None) -> JSON:
    """A plain Pod like the operator's (one container, the job's image and command,
    restartPolicy Never, no ServiceAccount token)."""
    meta: JSON = {"name": name, "labels": dict(labels)}
    if owner is not None:
        meta["ownerReferences"] = [dict(owner)]
    container: JSON = {"name": "job", "image": image, "command": command or ["/bin/sh", "-c", JOB_PARAMS["cmd"]]}
    if port is not None:
        container["ports"] = [{"containerPort": port, "protocol": "TCP"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False, "enableServiceLinks": False,
                     "containers": [container]}}
