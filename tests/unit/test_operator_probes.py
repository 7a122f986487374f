"""The liveness probe for the pod mirror, which runs beside kopf."""
import asyncio

import kopf
import pytest

from dlws_operator.main import pod_mirror_running


async def test_the_probe_fails_once_the_pod_mirror_has_stopped() -> None:
    running = asyncio.create_task(asyncio.sleep(3600))
    assert await pod_mirror_running(memo=kopf.Memo(pods_task=running)) is True
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    with pytest.raises(kopf.PermanentError):
        await pod_mirror_running(memo=kopf.Memo(pods_task=running))
    assert await pod_mirror_running(memo=kopf.Memo()) is False  # not started yet
