"""Waiting, on the event loop, for a watch-fed cache to change one key: the shim's job
index and the operator's job watch both let a request wait for the watch this way."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class ChangeWaiters(Generic[K]):
    def __init__(self) -> None:
        self._waiters: dict[K, set[asyncio.Future[None]]] = {}

    def __len__(self) -> int:
        """Keys someone waits for: none once every wait has ended."""
        return len(self._waiters)

    def notify(self, key: K) -> None:
        """The cache changed `key`: wakes everyone waiting for it."""
        for waiter in self._waiters.pop(key, ()):
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, key: K, timeout: float) -> bool:
        """Waits for the next change of `key`; False if timeout passed first."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, set()).add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[key]

    async def until(self, key: K, ready: Callable[[], bool], timeout: float) -> bool:
        """Waits until ready() holds, looking again at each change of `key`; False if
        timeout passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready():
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self.wait(key, remaining):
                return False
        return True
