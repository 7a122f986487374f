"""A job's log as JobDetail answers it (DLWS's `log`): where the job's init keeps its copy
and how the tail is cut. Pure.

The bound: the last LOG_LINES lines and at most LOG_BYTES bytes of them. Cut at a line's
start (a line longer than the whole bound keeps its last LOG_BYTES bytes), decoded as
UTF-8 with undecodable bytes replaced, so every answer is valid JSON text.
"""
from __future__ import annotations

from typing import Final

LOG_LINES: Final = 500
LOG_BYTES: Final = 64 * 1024
# Relative to the job's directory (<storage>/work/<jobPath>, /job in its container).
LOG_FILE: Final = "logs/joblog.txt"


def tail(data: bytes, *, partial: bool = False) -> str:
    """The bounded tail of `data`: the end of the job's output. partial: data starts
    somewhere inside the output (a file read from an offset) rather than at a line start;
    then its first byte is the one before the window, to tell whether a line starts there."""
    if partial:
        start = data.find(b"\n")
        data = data[start + 1:] if start != -1 and start < len(data) - 1 else data[1:]
    if len(data) > LOG_BYTES:
        window = data[-LOG_BYTES - 1:]
        start = window.find(b"\n")
        data = window[start + 1:] if start != -1 and start < len(window) - 1 else data[-LOG_BYTES:]
    lines = data.split(b"\n")
    # A last line ended by "\n" leaves an empty last element: keep LOG_LINES real lines.
    keep = LOG_LINES + 1 if lines and lines[-1] == b"" else LOG_LINES
    return b"\n".join(lines[-keep:]).decode("utf-8", "replace")

