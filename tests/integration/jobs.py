"""Helpers for integration tests: DLWSJobs made as a user (roots) or as the shim (children)."""
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from kubernetes.aio import client
from kubernetes.aio.client.exceptions import ApiException

from devcluster.waiting import until
from dlws_contract import resource

T = TypeVar("T")
SPEC = {"jobName": "test", "image": "busybox", "jobType": "training", "dataPath": "data",
        "cmd": "sleep 3600"}


async def eventually(fn: Callable[[], Awaitable[T | None]], *, timeout: float = 60.0,
                     interval: float = 0.2, what: str = "condition") -> T:
    """Polls fn until it returns a truthy value, and returns that; fails after timeout
    with `what`."""
    found: list[T] = []

    async def probe() -> bool:
        value = await fn()
        if value:
            found.append(value)
        return bool(value)

    await until(what, probe, timeout=timeout, interval=interval, max_interval=interval)
    return found[0]


class Jobs:
    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.api = api
        self.ns = namespace
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(await self.custom.create_namespaced_custom_object(
            resource.GROUP, resource.VERSION, self.ns, resource.PLURAL, body))

    async def root(self, name: str | None = None, **spec: Any) -> dict[str, Any]:
        body = {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
                "metadata": {"name": name or f"root-{uuid.uuid4().hex[:8]}"},
                "spec": {**SPEC, **spec}}
        return await self.create(body)

    async def child(self, parent: dict[str, Any], name: str | None = None, **spec: Any) -> dict[str, Any]:
        """A child made the way the shim makes it: family labels and an ownerReference."""
        labels = parent["metadata"]["labels"]
        body = {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
                "metadata": {
                    "name": name or str(uuid.uuid4()),
                    "labels": {resource.LABEL_FAMILY: labels[resource.LABEL_FAMILY],
                               resource.LABEL_ROOT: labels[resource.LABEL_ROOT],
                               resource.LABEL_PARENT: parent["metadata"]["name"]},
                    "ownerReferences": [{"apiVersion": resource.API_VERSION, "kind": resource.KIND,
                                         "name": parent["metadata"]["name"],
                                         "uid": parent["metadata"]["uid"],
                                         "controller": True, "blockOwnerDeletion": True}]},
                "spec": {**SPEC, **spec}}
        return await self.create(body)

    async def get(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(await self.custom.get_namespaced_custom_object(
                resource.GROUP, resource.VERSION, self.ns, resource.PLURAL, name))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    async def list_jobs(self, selector: str = "") -> list[dict[str, Any]]:
        got = await self.custom.list_namespaced_custom_object(
            resource.GROUP, resource.VERSION, self.ns, resource.PLURAL, label_selector=selector or None)
        return list(got["items"])

    async def delete(self, name: str, policy: str = "Foreground") -> None:
        await self.custom.delete_namespaced_custom_object(
            resource.GROUP, resource.VERSION, self.ns, resource.PLURAL, name,
            propagation_policy=policy)

    async def family_ready(self, name: str, timeout: float = 60.0) -> dict[str, Any]:
        async def ready() -> dict[str, Any] | None:
            job = await self.get(name)
            if job and (job.get("status") or {}).get("familyDigest") and \
                    resource.LABEL_FAMILY in (job["metadata"].get("labels") or {}):
                return job
            return None
        return await eventually(ready, timeout=timeout, what=f"family of {name}")

    async def with_status(self, name: str, pred: Callable[[dict[str, Any]], bool],
                          timeout: float = 60.0, what: str = "status") -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            job = await self.get(name)
            return job if job and pred(job.get("status") or {}) else None
        return await eventually(check, timeout=timeout, what=f"{what} of {name}")

    async def running_with_ip(self, name: str, timeout: float = 60.0) -> dict[str, Any]:
        return await self.with_status(
            name, lambda s: s.get("phase") == "Running" and bool(s.get("podIP")), timeout, "Running with IP")

    async def pods(self, selector: str = resource.LABEL_JOB) -> list[Any]:
        return list((await self.core.list_namespaced_pod(self.ns, label_selector=selector)).items)

    async def secrets(self) -> list[Any]:
        return list((await self.core.list_namespaced_secret(self.ns)).items)

    async def events_text(self) -> str:
        return repr(self.api.sanitize_for_serialization(await self.core.list_namespaced_event(self.ns)))


async def snapshot(api: client.ApiClient, *namespaces: str) -> dict[str, tuple[str, bool]]:
    """Every DLWSJob of these namespaces, as namespace/name -> (uid, being deleted): two
    equal snapshots mean nothing was made, replaced or deleted in between."""
    found = {}
    for ns in namespaces:
        for job in await Jobs(api, ns).list_jobs():
            meta = job["metadata"]
            found[f"{ns}/{meta['name']}"] = (meta["uid"], bool(meta.get("deletionTimestamp")))
    return found


async def quota(core: client.CoreV1Api, namespace: str, cpu: str) -> None:
    """The namespace's ResourceQuota `jobs` at `cpu` requested cores, once the quota
    controller has written what it sees (until then the API server refuses every Pod
    with "status unknown for quota")."""
    body = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "jobs"},
            "spec": {"hard": {"requests.cpu": cpu}}}
    try:
        await core.replace_namespaced_resource_quota("jobs", namespace, {
            **body, "metadata": {"name": "jobs", "resourceVersion": (
                await core.read_namespaced_resource_quota("jobs", namespace)).metadata.resource_version}})
    except ApiException as exc:
        if exc.status != 404:
            raise
        await core.create_namespaced_resource_quota(namespace, body)

    async def synced() -> bool:
        got = await core.read_namespaced_resource_quota("jobs", namespace)
        return bool(got.status and (got.status.hard or {}).get("requests.cpu") == cpu and got.status.used is not None)
    await eventually(synced, what=f"quota status at {cpu}")
