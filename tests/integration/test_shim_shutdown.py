"""SIGTERM to the real `dlws-api-shim` (its ServiceAccount, a real API server): it stops
as a replica behind a Service should, failing no request (api_shim/shutdown.py).

tests/unit/test_shim_shutdown.py checks each step on the in-memory store; here the requests
reach Kubernetes: a SubmitJob made during the delay creates its DLWSJob, and a GetJobIP
waiting on the watch-fed index when SIGTERM came gets its answer during the drain (the
watch and the API client close only after it).
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes.aio import client

from devcluster.commands import shim_command
from tests.connections import refused
from tests.integration.identities import Identities
from tests.integration.jobs import Jobs, eventually
from tests.integration.shim_fixture import ShimClient, make_root

pytestmark = pytest.mark.cluster

DELAY, DRAIN = 2.0, 8.0
IP_WAIT = 4  # seconds a GetJobIP sent just before SIGTERM holds: it ends during the drain
MARGIN = 3.0
# More GPUs than a kwok node has: the Pod stays Pending, the job never gets an IP.
UNSCHEDULABLE = {"jobName": "pending", "resourcegpu": 64, "dataPath": "d", "image": "busybox",
                 "jobType": "training", "cmd": "sleep 3600"}


def start_shim(identities: Identities, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    command = shim_command(identities.shim_kubeconfig,
                           flags=("--shutdown-delay", str(DELAY), "--drain-timeout", str(DRAIN)))
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command.argv, env={**os.environ, **command.env}, stdout=log,
                                stderr=subprocess.STDOUT)
    return proc, command.url


async def until_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                async with http.get(url + "readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            await asyncio.sleep(0.1)


def sent_signal(op: str) -> tuple[aiohttp.TraceConfig, asyncio.Event]:
    """A trace for a client session, and the event it sets once a request to `op` is sent."""
    sent = asyncio.Event()

    async def on_headers_sent(session: Any, context: Any, params: aiohttp.TraceRequestHeadersSentParams) -> None:
        if params.url.path.endswith(op):
            sent.set()
    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(on_headers_sent)
    return trace, sent


async def test_on_sigterm_the_shim_leaves_its_service_without_failing_a_request(
        api: client.ApiClient, namespace: str, operator: Any, identities: Identities, tmp_path: Path) -> None:
    log_path = tmp_path / "shim.log"
    proc, url = start_shim(identities, log_path)
    trace, ip_asked = sent_signal("GetJobIP")
    try:
        await until_ready(proc, url, log_path)
        root = await make_root(api, namespace)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60), trace_configs=[trace]) as http:
            shim = ShimClient(http, url)
            pending = (await shim.submit(root.token, **UNSCHEDULABLE))["jobId"]
            waiting = asyncio.create_task(shim.call("GetJobIP", root.token, jobId=pending, wait=IP_WAIT))
            await asyncio.wait_for(ip_asked.wait(), 10)  # a GET is all headers: the request is sent
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)

            while True:
                async with http.get(url + "readyz") as resp:
                    if resp.status == 503:
                        break
                assert time.monotonic() - t0 < 1.0, "readyz still 200 a second after SIGTERM"
                await asyncio.sleep(0.05)

            status, body, headers = await shim.call("SubmitJob", root.token, jobName="late", resourcegpu=0,
                                                    dataPath="d", image="busybox", jobType="training")
            assert time.monotonic() - t0 < DELAY, "the SubmitJob meant for the delay came after it"
            assert status == 200 and headers["Connection"] == "close", body
            assert await Jobs(api, namespace).get(body["jobId"]) is not None

            # The shim logs this as it closes its listening socket, in the same step.
            async def accepting_stopped() -> bool:
                return "no longer accepting connections" in log_path.read_text()
            await eventually(accepting_stopped, timeout=DELAY + MARGIN, interval=0.05,
                             what="the shim to stop accepting")
            assert time.monotonic() - t0 >= DELAY, "accepting stopped before the delay was over"
            assert not waiting.done()
            assert await refused(url), "a new connection was accepted after the delay"
            status, body, _ = await waiting
            assert status == 200 and "has no IP yet" in body["error"], body

        code = await asyncio.to_thread(proc.wait, DELAY + DRAIN + MARGIN - (time.monotonic() - t0))
        assert code == 0
        log = log_path.read_text()
        # The GetJobIP waiting on the index was the one request in flight when accepting stopped.
        assert "draining 1 request(s) in flight" in log and "every request answered" in log
        assert root.token not in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
