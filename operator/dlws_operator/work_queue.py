"""A queue of keys to reconcile, as client-go's workqueue: a key waits at most once, a key
is never handled by two workers at once, and a key that changes while it is being handled
is handled again afterwards. Events for one object coalesce into one visit, which reads
the object's latest state, so a burst of events costs one API call, not one per event,
and memory holds keys, not a backlog of event bodies."""
from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class KeyQueue(Generic[K]):
    def __init__(self) -> None:
        self._order: asyncio.Queue[K] = asyncio.Queue()
        self._waiting: set[K] = set()
        self._busy: set[K] = set()
        self._dirty: set[K] = set()  # changed while busy: queued again when done

    def __len__(self) -> int:
        return len(self._waiting) + len(self._dirty)

    def add(self, key: K) -> None:
        if key in self._busy:
            self._dirty.add(key)
        elif key not in self._waiting:
            self._waiting.add(key)
            self._order.put_nowait(key)

    def add_after(self, key: K, delay: float) -> None:
        """add(key) in `delay` seconds (client-go's AddAfter)."""
        asyncio.get_running_loop().call_later(delay, self.add, key)

    async def get(self) -> K:
        """The next key; the caller must call done(key) when it has handled it."""
        key = await self._order.get()
        self._waiting.discard(key)
        self._busy.add(key)
        return key

    def done(self, key: K) -> None:
        self._busy.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)
