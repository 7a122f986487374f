"""Calls the shim as a job does: GET /child/<Op> with the token in the query, on one
keep-alive session (the seed samples use requests; this is its asynchronous twin)."""
from __future__ import annotations

from typing import Any

import aiohttp

from bench.jobs import Family
from bench.objects import JOB_PARAMS


class ShimError(RuntimeError):
    pass


class ShimClient:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/"
        # No connection limit of our own: the benchmark bounds what it keeps in flight.
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120))

    async def close(self) -> None:
        await self.session.close()

    async def call(self, op: str, family: Family, *, forwarded_for: str | None = None,
                   **params: Any) -> dict[str, Any]:
        """forwarded_for: the caller's address, as a trusted proxy would pass it on."""
        query = {k: str(v) for k, v in params.items()}
        query["familyToken"] = family.token
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
        async with self.session.get(self.url + "child/" + op, params=query, headers=headers) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200:
                raise ShimError(f"{op}: HTTP {resp.status}: {body}")
            return dict(body)

    async def submit(self, family: Family, *, forwarded_for: str | None = None, **params: Any) -> str:
        """SubmitJob with the benchmark's job parameters; the new jobId."""
        answer = await self.call("SubmitJob", family, forwarded_for=forwarded_for, **{**JOB_PARAMS, **params})
        if "jobId" not in answer:
            raise ShimError(f"SubmitJob: {answer}")
        return str(answer["jobId"])

    async def job_ip(self, family: Family, job_id: str, wait: float) -> str:
        answer = await self.call("GetJobIP", family, jobId=job_id, wait=wait)
        if "IP" not in answer:
            raise ShimError(f"GetJobIP: {answer}")
        return str(answer["IP"])

    async def detail(self, family: Family, job_id: str) -> dict[str, Any]:
        answer = await self.call("JobDetail", family, jobId=job_id)
        if "error" in answer:
            raise ShimError(f"JobDetail: {answer}")
        return answer

    async def kill(self, family: Family, job_id: str) -> None:
        answer = await self.call("KillJob", family, jobId=job_id)
        if not str(answer.get("result", "")).startswith("Success"):
            raise ShimError(f"KillJob: {answer}")
