"""Polling with a deadline: the only way devcluster waits for anything to become ready."""
from __future__ import annotations

import time
from collections.abc import Callable


class WaitTimeout(TimeoutError):
    pass


def wait_until(
    what: str,
    probe: Callable[[], bool],
    *,
    timeout: float,
    still_possible: Callable[[], None] | None = None,
    max_interval: float = 0.5,
) -> float:
    """Call `probe` until it returns True; return the seconds it took.

    `still_possible` is called between probes and raises when waiting longer is pointless
    (for example, the process we wait for has exited), so a failure surfaces at once
    instead of at the deadline. The interval starts small and backs off, so fast
    components are noticed fast without hammering slow ones.
    """
    start = time.monotonic()
    deadline = start + timeout
    interval = 0.02
    last_error: Exception | None = None
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
            detail = f" (last error: {last_error})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)
        interval = min(interval * 1.5, max_interval)
