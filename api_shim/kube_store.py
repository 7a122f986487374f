"""The JobStore on a real API server: the watch-fed index plus get/create/delete calls."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any, NoReturn

import aiohttp
from kubernetes.aio.client import CustomObjectsApi, V1DeleteOptions, V1Preconditions
from kubernetes.aio.client.exceptions import ApiException

from api_shim.job_index import JobIndex
from api_shim.store import Deleted, Rejected, Unavailable
from dlws_contract import resource

log = logging.getLogger(__name__)

# Failures of the connection itself, as opposed to an answer from the API server.
_TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, OSError)


def server_message(error: ApiException) -> str:
    """The `message` of the Status object the API server sent, else its reason."""
    try:
        status = json.loads(error.body or "")
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
    except ValueError:
        pass
    return str(error.reason or f"HTTP {error.status}")


def _unavailable(error: BaseException, doing: str) -> NoReturn:
    detail = (f"HTTP {error.status}: {server_message(error)[:300]}" if isinstance(error, ApiException)
              else f"{type(error).__name__}: {str(error)[:300]}")
    log.warning("Kubernetes API failed while %s: %s", doing, detail)
    raise Unavailable(f"the Kubernetes API failed while {doing}; try again") from error


class KubeJobStore:
    def __init__(self, index: JobIndex, api: CustomObjectsApi, *, timeout: float) -> None:
        self._index = index
        self.api = api
        self.timeout = float(timeout)

    @property
    def index(self) -> JobIndex:
        return self._index

    async def read(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            obj = await self.api.get_namespaced_custom_object(
                resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name,
                _request_timeout=self.timeout)
        except ApiException as e:
            if e.status == 404:
                return None
            _unavailable(e, "reading a job")
        except _TRANSPORT_ERRORS as e:
            _unavailable(e, "reading a job")
        assert isinstance(obj, Mapping)
        return obj

    async def create(self, namespace: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        name = str(body["metadata"]["name"])
        try:
            obj = await self.api.create_namespaced_custom_object(
                resource.GROUP, resource.VERSION, namespace, resource.PLURAL, dict(body),
                field_validation="Strict", _request_timeout=self.timeout)
        except ApiException as e:
            if e.status in (400, 422):
                raise Rejected(server_message(e)) from e
            if e.status == 403 and "being terminated" in server_message(e):
                raise Rejected(server_message(e)) from e
            _unavailable(e, "creating a job")
        except _TRANSPORT_ERRORS as e:
            # The create may have been applied before the answer was lost. The name is a
            # fresh uuid4, so a job of that name is this one: report it rather than leave
            # a job the caller does not know about.
            log.warning("create of a job failed in transit (%s); checking whether it exists",
                        type(e).__name__)
            made = await self.read(namespace, name)
            if made is None:
                _unavailable(e, "creating a job")
            return made
        assert isinstance(obj, Mapping)
        return obj

    async def delete(self, namespace: str, name: str, uid: str) -> Deleted:
        options = V1DeleteOptions(propagation_policy="Foreground",
                                  preconditions=V1Preconditions(uid=uid))
        try:
            await self.api.delete_namespaced_custom_object(
                resource.GROUP, resource.VERSION, namespace, resource.PLURAL, name,
                propagation_policy="Foreground", body=options, _request_timeout=self.timeout)
        except ApiException as e:
            # 404: already gone; 409: the uid precondition failed, another job has the name.
            if e.status in (404, 409):
                return Deleted.GONE
            _unavailable(e, "deleting a job")
        except _TRANSPORT_ERRORS as e:
            _unavailable(e, "deleting a job")
        return Deleted.ACCEPTED
