"""The operator process inside kopf: its start-up, its shutdown and its liveness probes.
The jobs' handlers are in lifecycle.py, kopf's configuration in kopf_config.py."""
import functools
from typing import Any

import kopf

from dlws_operator import kopf_config, lifecycle
from dlws_operator.runtime import Runtime


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: Runtime, **_: Any) -> None:
    kopf_config.configure(settings, memo.handled)
    await memo.start(reconcile=functools.partial(lifecycle.mirror_pod, memo))


@kopf.on.cleanup()
async def stop(memo: Runtime, **_: Any) -> None:
    await memo.stop()


@kopf.on.probe(id="pod_mirror")
async def pod_mirror_running(memo: Runtime, **_: Any) -> bool:
    """kopf does not watch the job watch, the pod mirror and the event poster, which never
    end on their own: if they have, the liveness endpoint fails and Kubernetes restarts us."""
    task = memo.background
    if task is not None and task.done():
        raise kopf.PermanentError("the job watch, the pod mirror or the event poster has stopped; "
                                  "job status or Events are no longer written")
    return task is not None
