"""Whether a job and every job above it are alive, asked right before its Pod is made:
no Pod is made for a job whose parent, or any job above it, is being killed or is gone.

The job watch (indexes.WatchedJobs) is one stream in etcd's order: once it has delivered
the job's own create, it holds every write made before it, every kill above the job
included, and answers with no call. Should the watch lag by more than catch_up.CATCH_UP
(the shim waits as long), the API server answers instead: one quorum GET per job of the
chain, all at once.

What remains is the time from that answer to the Pod's create (the watch's lag behind
the API server, or the GETs' round trip, then the create: metrics.POD_CREATE_WINDOW): a
kill written in it comes before the Pod, which the garbage collector then deletes with
its job. No read can close it: Kubernetes has no write of one object conditional on
another. A job created after a kill above it began never gets a Pod.
"""
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dlws_contract import catch_up
from dlws_contract.catch_up import same_object, still_alive
from dlws_contract.kube_api import Kube, job_path
from dlws_operator.job_view import JobId, JobLookup, parent_of

# Far deeper than any family the shim admits; forged parent labels that loop stop here.
MAX_HOPS: Final = 64


@dataclass(frozen=True, slots=True)
class Found:
    """The first job of the chain found being killed or gone (None: all alive), and
    who said so: "watch" (no call made) or "api"."""
    dying: str | None
    by: str


def chain_in_watch(jobs: JobLookup, namespace: str, job: JobId) -> Found:
    """The chain as the job watch holds it, once it has delivered `job`: a job above it
    that is not there was deleted before it, or since."""
    seen: list[JobId] = []
    current: JobId | None = job
    while current is not None and current not in seen and len(seen) <= MAX_HOPS:
        seen.append(current)
        view = jobs.view(namespace, current.name)
        if view is None or not same_object(current.uid, view.uid) or view.deleting:
            return Found(current.name, "watch")
        current = view.parent
    return Found(None, "watch")


async def check_chain(kube: Kube, jobs: JobLookup, meta: Mapping[str, Any]) -> Found:
    """Looks at the job of `meta` and every job above it, up to its root."""
    namespace = str(meta["namespace"])
    if await jobs.delivered(namespace, str(meta["name"]), str(meta["uid"]), catch_up.CATCH_UP):
        return chain_in_watch(jobs, namespace, JobId(str(meta["name"]), str(meta["uid"])))
    chain: list[JobId] = []
    job: JobId | None = JobId(str(meta["name"]), str(meta["uid"]))
    while job is not None and job not in chain and len(chain) <= MAX_HOPS:
        chain.append(job)
        view = jobs.view(namespace, job.name)
        if view is not None and same_object(job.uid, view.uid):
            if view.deleting:
                return Found(job.name, "watch")
            job = view.parent
            continue
        # Not in the lagging watch yet, or it still holds an older job of that name: the
        # API server says who is above.
        obj = await kube.get(job_path(namespace, job.name))
        if obj is None or not still_alive(job.uid, obj):
            return Found(job.name, "api")
        job = parent_of(obj.get("metadata") or {})
    fresh = await asyncio.gather(*(kube.get(job_path(namespace, j.name)) for j in chain))
    return Found(next((j.name for j, obj in zip(chain, fresh) if not still_alive(j.uid, obj)), None), "api")
