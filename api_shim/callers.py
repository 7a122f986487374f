"""SubmitJob's calling job: the family member whose Pod sent the request (attribution.py
has the rules), looked up in the watch-fed PodIndex, and counted for /metrics.

A job's very first request may arrive before the kubelet has reported its Pod's address
to the API server (the kubelet reports it after the container has started). So when an
address names no Pod while a Pod of the caller's family is placed on a node without an
address yet, the request waits for the Pod watch, up to `wait` seconds, before it gives up
and nests under the root.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import Counter

from api_shim.attribution import FORWARDED_FOR, Address, Network, Outcome, address_owner, caller_address, may_wait
from api_shim.errors import NotReady
from api_shim.families import Family
from api_shim.pod_index import PodIndex
from api_shim.records import JobRecord, PodRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attribution:
    outcome: Outcome
    job: JobRecord | None = None  # MATCHED: the calling job
    dying: str = ""               # DYING: the calling job, being killed or gone


class Callers:
    def __init__(self, pods: PodIndex | None, *, trusted_proxies: Collection[Network], wait: float,
                 counter: Counter) -> None:
        self.pods = pods  # None: the lookup is off
        self.trusted_proxies = trusted_proxies
        self.wait = wait
        self._counter = counter

    def count(self, outcome: Outcome) -> None:
        self._counter.labels(outcome.value).inc()

    def address(self, request: web.Request) -> Address | None:
        return caller_address(request.remote, request.headers.getall(FORWARDED_FOR, []), self.trusted_proxies)

    async def calling_job(self, family: Family, request: web.Request) -> Attribution:
        address = self.address(request)
        found = await self._attribute(family, address)
        self.count(found.outcome)
        if found.outcome not in (Outcome.MATCHED, Outcome.NO_POD, Outcome.LOOKUP_OFF):
            log.info("SubmitJob from %s in %s: %s%s", address, family.root.name, found.outcome.value,
                     f" ({found.dying})" if found.dying else "")
        return found

    async def _attribute(self, family: Family, address: Address | None) -> Attribution:
        pods = self.pods
        if pods is None:
            return Attribution(Outcome.LOOKUP_OFF)
        if not pods.synced:
            raise NotReady("the shim is still loading the jobs' Pods; try again in a moment")
        if address is None:
            return Attribution(Outcome.NO_POD)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        while True:
            owner = address_owner(pods.at(str(address)))
            if isinstance(owner, PodRecord):
                return await self._member(family, owner)
            remaining = deadline - loop.time()
            if (owner is not Outcome.NO_POD or not may_wait(address) or remaining <= 0
                    or not any(pod.family == family.digest for pod in pods.starting())):
                return Attribution(owner)
            await pods.wait_for_change(remaining)

    @staticmethod
    async def _member(family: Family, pod: PodRecord) -> Attribution:
        """The family's job that runs this Pod. The token has decided the family: a Pod of
        another family (a leaked token) names no member of this one."""
        job = await family.find(pod.job)
        if job is not None and job.uid == pod.owner_uid:
            return Attribution(Outcome.MATCHED, job)
        if pod.family != family.digest:
            return Attribution(Outcome.OTHER_FAMILY)
        # A Pod of this family whose job is gone: killed, its processes in their grace period.
        return Attribution(Outcome.DYING, dying=pod.job)
