"""Polling with a deadline: how the harness waits for anything to become ready or true.

`wait_until` polls a blocking probe and `until` an async one, on the same schedule: the
pause starts at `interval` and grows by half up to `max_interval` (pass the same value
for a steady pace), so fast things are noticed fast without hammering slow ones.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator


class WaitTimeout(TimeoutError):
    pass


def _pauses(interval: float, max_interval: float) -> Iterator[float]:
    cap = max(interval, max_interval)
    while True:
        yield interval
        interval = min(interval * 1.5, cap)


def _timed_out(what: str, timeout: float, last_error: Exception | None = None) -> WaitTimeout:
    detail = f" (last error: {last_error})" if last_error else ""
    return WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def wait_until(
    what: str,
    probe: Callable[[], bool],
    *,
    timeout: float,
    still_possible: Callable[[], None] | None = None,
    interval: float = 0.02,
    max_interval: float = 0.5,
) -> float:
    """Call `probe` until it returns True; return the seconds it took.

    A probe that raises means "not yet": what it probes may still be starting (a refused
    connection). `still_possible` is called between probes and raises when waiting
    longer is pointless (for example, the process we wait for has exited), so a failure
    surfaces at once instead of at the deadline.
    """
    start = time.monotonic()
    deadline = start + timeout
    last_error: Exception | None = None
    pauses = _pauses(interval, max_interval)
    while True:
        if still_possible is not None:
            still_possible()
        try:
            if probe():
                return time.monotonic() - start
            last_error = None
        except Exception as e:  # noqa: BLE001 - a probe failing means "not yet"
            last_error = e
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, last_error)
        time.sleep(next(pauses))


async def until(
    what: str,
    probe: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    interval: float = 0.02,
    max_interval: float = 0.5,
) -> float:
    """The async twin of wait_until: await `probe` until it returns True; the seconds it
    took. Its errors propagate: it asks an API server that is up, where an error is a
    failure, not a "not yet"."""
    start = time.monotonic()
    pauses = _pauses(interval, max_interval)
    while True:
        if await probe():
            return time.monotonic() - start
        if time.monotonic() - start >= timeout:
            raise _timed_out(what, timeout)
        await asyncio.sleep(next(pauses))
