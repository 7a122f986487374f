"""The JobStore on a real API server: get, create and delete of DLWSJobs through the
contract's plain-JSON calls, with the API server's answers turned into the store's."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, NoReturn

import aiohttp
from kubernetes.aio.client.exceptions import ApiException

from api_shim.store import Deleted, Exists, Rejected, Unavailable
from dlws_contract.kube_api import Kube, core_path, job_path, server_message

log = logging.getLogger(__name__)

# Failures of the connection itself, as opposed to an answer from the API server.
_TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, OSError)


def _unavailable(error: BaseException, doing: str) -> NoReturn:
    detail = (f"HTTP {error.status}: {server_message(error)[:300]}" if isinstance(error, ApiException)
              else f"{type(error).__name__}: {str(error)[:300]}")
    log.warning("Kubernetes API failed while %s: %s", doing, detail)
    raise Unavailable(f"the Kubernetes API failed while {doing}; try again") from error


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("annotations") or {}


class KubeJobStore:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    async def read(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            return await self.kube.get(job_path(namespace, name))
        except (ApiException, *_TRANSPORT_ERRORS) as e:
            _unavailable(e, "reading a job")

    async def create(self, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        name = str(body["metadata"]["name"])
        try:
            # Not Kube.create: whether a 409 is "already made" is the caller's to decide.
            return await self.kube.request("POST", job_path(namespace), body=body,
                                           query=[("fieldValidation", "Strict")])
        except ApiException as e:
            if e.status == 409:
                raise Exists(server_message(e)) from e
            if e.status in (400, 422):
                raise Rejected(server_message(e)) from e
            if e.status == 403 and "being terminated" in server_message(e):
                raise Rejected(server_message(e)) from e
            _unavailable(e, "creating a job")
        except _TRANSPORT_ERRORS as e:
            # The create may have been applied before the answer was lost. The name is a
            # fresh uuid4 or comes from an idempotency key, so a job of that name is this
            # call's (the caller checks a key's fingerprint): report it rather than leave a
            # job the caller does not know about.
            log.warning("create of a job failed in transit (%s); checking whether it exists",
                        type(e).__name__)
            made = await self.read(namespace, name)
            if made is None:
                _unavailable(e, "creating a job")
            if _annotations(made) != _annotations(body):
                raise Exists(f"dlwsjobs {name!r} already exists") from e  # another call's
            return made

    async def delete(self, namespace: str, name: str, uid: str) -> Deleted:
        try:
            # False: already gone, or the uid precondition failed (another job has the name).
            deleted = await self.kube.delete(job_path(namespace, name), uid=uid)
        except (ApiException, *_TRANSPORT_ERRORS) as e:
            _unavailable(e, "deleting a job")
        return Deleted.ACCEPTED if deleted else Deleted.GONE

    async def record_kill(self, namespace: str, body: Mapping[str, Any]) -> None:
        try:
            await self.kube.create(core_path(namespace, "configmaps"), body)  # None: made already
        except (ApiException, *_TRANSPORT_ERRORS) as e:
            _unavailable(e, "recording a kill")

    async def read_log(self, namespace: str, pod: str, container: str, tail_lines: int) -> bytes | None:
        try:
            return await self.kube.read_bytes(core_path(namespace, "pods", pod) + "/log",
                                              query=[("container", container), ("tailLines", tail_lines)])
        except ApiException as e:
            if e.status in (400, 500, 502, 503):
                # A container not started yet, or a node whose kubelet does not answer
                # (kwok's): nothing to show; the storage's copy is for after the Pod.
                log.debug("no log of pod %s/%s: HTTP %s %s", namespace, pod, e.status, server_message(e)[:200])
                return b""
            _unavailable(e, "reading a job's log")
        except _TRANSPORT_ERRORS as e:
            _unavailable(e, "reading a job's log")
