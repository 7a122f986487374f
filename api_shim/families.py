"""The caller's family: found from its token, it answers for its own jobs only.

A job is looked up in the watch-fed index first; the API server is asked only for a job
created so recently that the watch has not delivered it yet, and for whether the jobs
above a new child are still alive when the watch is slow to deliver that child.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from api_shim.errors import Forbidden
from api_shim.job_index import JobIndex
from api_shim.records import JobRecord, is_job_id, record_from_object
from api_shim.store import JobStore, Unavailable
from dlws_contract import catch_up, tokens
from dlws_contract.catch_up import still_alive

log = logging.getLogger(__name__)


class ChainKilled(Exception):
    """A job above a new child was being deleted, or gone, as seen after the child's
    create (Family.create_below); the child has been deleted again."""

    def __init__(self, dying: JobRecord, child: str) -> None:
        super().__init__(f"{dying.name} is being killed")
        self.dying = dying
        self.child = child


class Family:
    def __init__(self, digest: str, root: JobRecord, index: JobIndex, store: JobStore) -> None:
        self.digest = digest
        self.root = root
        self._index = index
        self._store = store

    @classmethod
    def authenticate(cls, token: str, index: JobIndex, store: JobStore) -> Family:
        """The live family the token belongs to; Forbidden otherwise."""
        if not tokens.is_well_formed(token):
            raise Forbidden("familyToken is not valid")
        digest = tokens.family_digest(token)
        root = index.family_root(digest)
        # The digest lookup finds the candidate; the constant-time compare decides.
        if root is None or root.family is None or not tokens.matches(token, root.family):
            raise Forbidden("familyToken is not valid, or its family has been killed")
        return cls(digest, root, index, store)

    @property
    def namespace(self) -> str:
        return self.root.namespace

    def _own(self, job: JobRecord | None) -> JobRecord | None:
        return job if job is not None and job.family == self.digest else None

    async def find(self, job_id: str) -> JobRecord | None:
        """The family's job with this id, or None. No API call for an id that cannot name
        a job or that the index places in another family; otherwise at most one GET."""
        if not is_job_id(job_id):
            return None
        known = self._index.get(self.namespace, job_id)
        if known is None:
            obj = await self._store.read(self.namespace, job_id)
            known = record_from_object(obj) if obj is not None else None
        return self._own(known)

    async def read(self, job_id: str) -> Mapping[str, Any] | None:
        """Like find, but the whole object as the API server has it now (one GET)."""
        if not is_job_id(job_id):
            return None
        known = self._index.get(self.namespace, job_id)
        if known is not None and known.family != self.digest:
            return None
        obj = await self._store.read(self.namespace, job_id)
        if obj is None or record_from_object(obj).family != self.digest:
            return None
        return obj

    def chain(self, job: JobRecord, max_hops: int) -> list[JobRecord] | None:
        """[job, its parent, ..., the family root], from the index; None when the chain is
        broken (an ancestor already gone, or labels that do not lead to this family's root).

        Walks at most max_hops + 1 parents, so a cycle of forged labels cannot loop.
        """
        chain = [job]
        current = job
        while current.parent is not None:
            if len(chain) > max_hops + 1:
                return chain  # deeper than any limit: the caller refuses it on depth
            parent = self._own(self._index.get(self.namespace, current.parent))
            if parent is None:
                return None
            chain.append(parent)
            current = parent
        return chain if current.key == self.root.key else None

    async def create_below(self, body: Mapping[str, Any], chain: Sequence[JobRecord], *,
                           keyed: bool = False) -> Mapping[str, Any]:
        """Creates the child `body` below chain[0] (chain: up to the root) and keeps it only
        if it is confirmed (confirm_below). Raises the store's Exists when a job of that
        name is there already (an idempotency key's, made by an earlier call)."""
        made = await self._store.create(self.namespace, body)
        await self.confirm_below(made, chain, keyed=keyed)
        return made

    async def confirm_below(self, made: Mapping[str, Any], chain: Sequence[JobRecord], *,
                            keyed: bool = False) -> None:
        """Returns if, after `made`'s create, every job of chain is still there and not
        being deleted; otherwise deletes `made` again and raises ChainKilled. If the API
        server cannot say, raises Unavailable, having deleted `made` unless it is `keyed`
        (an idempotency key's job: the caller's retry finds and confirms it).

        Linearizable: what is read after the create's write includes every kill written
        before it. Usually the index says, once its watch has delivered the child's own
        create (one ordered stream: every earlier write, every kill above it included);
        if that takes longer than catch_up.CATCH_UP, the API server does (quorum GETs). A
        kill written after that came after this decision, and takes the child with it: the
        child is its parent's dependent (blockOwnerDeletion) from its first moment.
        """
        meta = made["metadata"]
        if await self._index.wait_for_job(self.namespace, str(meta["name"]), str(meta["uid"]), catch_up.CATCH_UP):
            dying = next((job for job in chain if not self._still_indexed(job)), None)
        else:
            try:
                fresh = await asyncio.gather(*(self._store.read(self.namespace, job.name) for job in chain))
            except Unavailable:
                if not keyed:
                    await self._withdraw(made)  # unconfirmed, and nobody could find it again
                raise
            dying = next((job for job, obj in zip(chain, fresh) if not still_alive(job.uid, obj)), None)
        if dying is not None:
            await self._withdraw(made)
            raise ChainKilled(dying, str(meta["name"]))

    def _still_indexed(self, job: JobRecord) -> bool:
        now = self._index.get(self.namespace, job.name)
        return now is not None and now.uid == job.uid and not now.deleting

    async def _withdraw(self, made: Mapping[str, Any]) -> None:
        meta = made["metadata"]
        try:
            await self._store.delete(self.namespace, str(meta["name"]), str(meta["uid"]))
        except Unavailable:
            # Nobody was given its id. Below a dying job the garbage collector takes it anyway.
            log.warning("job %s/%s was made but not confirmed, and could not be deleted again",
                        self.namespace, meta["name"])

    def live_jobs(self) -> int:
        return self._index.live_count(self.digest, self.namespace)

    def is_indexed(self, name: str) -> bool:
        return self._index.get(self.namespace, name) is not None

    def current(self, job: JobRecord) -> JobRecord | None:
        """The job as the index holds it now (as it was, if the index does not hold it)."""
        fresh = self._index.get(self.namespace, job.name)
        return self._own(fresh) if fresh is not None else job

    async def next_state(self, job: JobRecord, timeout: float) -> JobRecord | None:
        """The job after the watch's next change to it (None once it is gone from the
        family), or as it was if no change comes within timeout."""
        changed = await self._index.wait_for_change(self.namespace, job.name, timeout)
        fresh = self._index.get(self.namespace, job.name)
        if fresh is not None:
            return self._own(fresh)
        return None if changed else job
