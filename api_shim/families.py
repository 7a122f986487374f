"""Jobs of a family: finding one by id, and the chain from a job up to its root."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api_shim.auth import Family
from api_shim.records import JobRecord, is_job_id, record_from_object
from api_shim.store import JobStore


async def find_job(store: JobStore, family: Family, job_id: str) -> JobRecord | None:
    """The family's job with this id, or None. No API call for an id that cannot name a
    job or that the index places in another family; otherwise at most one GET, for a job
    created so recently that the watch has not delivered it yet."""
    if not is_job_id(job_id):
        return None
    known = store.index.get(family.namespace, job_id)
    if known is not None:
        return known if known.family == family.digest else None
    obj = await store.read(family.namespace, job_id)
    if obj is None:
        return None
    found = record_from_object(obj)
    return found if found.family == family.digest else None


async def find_job_object(store: JobStore, family: Family, job_id: str) -> Mapping[str, Any] | None:
    """Like find_job, but the whole object as the API server has it now (one GET)."""
    if not is_job_id(job_id):
        return None
    known = store.index.get(family.namespace, job_id)
    if known is not None and known.family != family.digest:
        return None
    obj = await store.read(family.namespace, job_id)
    if obj is None or record_from_object(obj).family != family.digest:
        return None
    return obj


def ancestry(store: JobStore, family: Family, job: JobRecord, max_hops: int) -> list[JobRecord] | None:
    """[job, its parent, ..., the family root], from the index; None when the chain is
    broken (an ancestor already gone, or labels that do not lead to this family's root).

    Walks at most max_hops + 1 parents, so a cycle of forged labels cannot loop.
    """
    chain = [job]
    current = job
    while current.parent is not None:
        if len(chain) > max_hops + 1:
            return chain  # deeper than any limit: the caller refuses it on depth
        parent = store.index.get(family.namespace, current.parent)
        if parent is None or parent.family != family.digest:
            return None
        chain.append(parent)
        current = parent
    return chain if current.key == family.root.key else None
