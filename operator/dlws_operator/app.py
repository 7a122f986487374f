"""The operator process inside kopf: its start-up, its shutdown and its liveness probes.
The jobs' handlers are in lifecycle.py, kopf's configuration in kopf_config.py."""
import functools
from typing import Any

import kopf

from dlws_operator import kopf_config, lifecycle
from dlws_operator.indexes import JobView
from dlws_operator.runtime import Runtime


# kopf passes indexes as keyword arguments its handler protocols do not list.
@kopf.on.startup()  # type: ignore[arg-type]
async def start(settings: kopf.OperatorSettings, memo: Runtime,
                job_index: kopf.Index[tuple[str, str], JobView], **_: Any) -> None:
    kopf_config.configure(settings, memo.handled)
    await memo.start(job_index, reconcile=functools.partial(lifecycle.mirror_pod, memo))


@kopf.on.cleanup()
async def stop(memo: Runtime, **_: Any) -> None:
    await memo.stop()


@kopf.on.probe(id="pod_mirror")
async def pod_mirror_running(memo: Runtime, **_: Any) -> bool:
    """kopf does not watch the pod mirror and the event poster, which never end on their
    own: if they have, the liveness endpoint fails and Kubernetes restarts us."""
    task = memo.background
    if task is not None and task.done():
        raise kopf.PermanentError("the pod mirror or the event poster has stopped; "
                                  "job status or Events are no longer written")
    return task is not None
