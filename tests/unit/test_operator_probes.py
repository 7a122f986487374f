"""The liveness probe for the pod mirror, which runs beside kopf."""
import asyncio

import kopf
import pytest

from dlws_operator.app import pod_mirror_running
from dlws_operator.runtime import Runtime
from dlws_operator.config import OperatorConfig


async def test_the_probe_fails_once_the_pod_mirror_has_stopped() -> None:
    memo = Runtime(OperatorConfig(), [])
    assert await pod_mirror_running(memo=memo) is False  # not started yet
    memo.background = running = asyncio.create_task(asyncio.sleep(3600))
    assert await pod_mirror_running(memo=memo) is True
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    with pytest.raises(kopf.PermanentError):
        await pod_mirror_running(memo=memo)
