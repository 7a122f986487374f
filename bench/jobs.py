"""DLWSJobs as the benchmark makes them: family roots created as a user would, children
with the shim's own body, through the calls the shim and the operator make
(dlws_contract.kube_api)."""
from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.aio import client

from api_shim.child_job import build_child
from api_shim.records import JobRecord, record_from_object
from bench.client import JSON
from bench.objects import JOB_PARAMS
from devcluster.waiting import until
from dlws_contract import kube_api, resource
from dlws_contract.kube_api import Kube, core_path, job_path
from dlws_contract.spec import JobSpec, spec_from_parameters


@dataclass(frozen=True)
class Family:
    """A family root as the shim indexes it, and its token read as its Pod gets it."""
    root: JobRecord
    token: str

    @property
    def namespace(self) -> str:
        return self.root.namespace


class JobsApi:
    """DLWSJob calls on one namespace."""

    def __init__(self, api: client.ApiClient, namespace: str,
                 params: Mapping[str, str] = JOB_PARAMS) -> None:
        self.api = api
        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api)  # for a collection delete (submit_ip)
        self.kube = Kube(api, 60.0)
        self.spec: JobSpec = spec_from_parameters(params)

    async def create(self, obj: Mapping[str, Any], timeout: float = 30.0) -> JSON:
        """The same call the shim's KubeJobStore.create makes."""
        return await kube_api.request(self.api, "POST", job_path(self.namespace), body=obj,
                                      query=[("fieldValidation", "Strict")], timeout=timeout)

    def root_body(self, name: str) -> JSON:
        return {"apiVersion": resource.API_VERSION, "kind": resource.KIND,
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {**self.spec, "userName": "bench", "userId": 1000}}

    def child_body(self, family: Family, parent: JobRecord, name: str | None = None) -> JSON:
        """A child exactly as the shim's SubmitJob builds it (api_shim.child_job)."""
        return build_child(name=name or str(uuid.uuid4()), spec=self.spec, parent=parent,
                           root=family.root, digest=family.root.family or "")

    async def get(self, name: str) -> JSON | None:
        return await self.kube.get(job_path(self.namespace, name))

    async def patch_status(self, name: str, status: Mapping[str, Any]) -> bool:
        """Merge-patches the job's status as the operator does; False if the job is gone."""
        return await self.kube.patch_status(job_path(self.namespace, name), status) is not None

    async def list_jobs(self, label_selector: str | None = None) -> list[JSON]:
        items: list[JSON] = []
        cont: str | None = None
        while True:
            query = [("limit", 500)] + [(k, v) for k, v in (("labelSelector", label_selector),
                                                             ("continue", cont)) if v]
            page = await self.kube.request("GET", job_path(self.namespace), query=query)
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

        await until(f"the family of {name}", ready, timeout=timeout, interval=0.1, max_interval=0.1)
        secret = await self.kube.get(core_path(self.namespace, "secrets", resource.family_secret_name(name)))
        assert secret is not None
        token = base64.b64decode(secret["data"][resource.SECRET_TOKEN_KEY]).decode()
        return Family(root=record_from_object(found), token=token)

    async def pod_ip(self, job: str, timeout: float = 120.0) -> str:
        """The address of the job's Pod, once it has one."""
        found: list[str] = []

        async def has_ip() -> bool:
            pod = await self.kube.get(core_path(self.namespace, "pods", resource.pod_name(job)))
            ip = ((pod or {}).get("status") or {}).get("podIP")
            if ip:
                found.append(str(ip))
            return bool(ip)

        await until(f"the Pod address of {job}", has_ip, timeout=timeout, interval=0.1, max_interval=0.5)
        return found[0]

    async def wait_handled(self, count: int, timeout: float, selector: str | None = None) -> float:
        """Waits until `count` jobs show a podIP in status: the operator made their Pods
        and mirrored them. Seconds taken."""
        async def done() -> bool:
            jobs = await self.list_jobs(selector)
            return sum(1 for j in jobs if (j.get("status") or {}).get("podIP")) >= count

        return await until(f"{count} jobs running with an IP", done, timeout=timeout, interval=1.0, max_interval=1.0)
