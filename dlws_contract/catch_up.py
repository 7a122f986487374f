"""A watch that may lag a write just made: how long to wait for it, and, past that, what
a fresh read from the API server says. Pure.

The shim (families.Family.confirm_below) and the operator (ancestry.check_chain) both ask
whether the jobs above a new job are alive: the job watch answers once it has delivered
the new job's own create (one ordered stream holds every write before it); should that
take longer than CATCH_UP, a quorum GET of each job does, judged by still_alive.
"""
from collections.abc import Mapping
from typing import Any, Final

# Seconds to wait for the watch to deliver a job's own create before asking the API
# server instead (a watch hop is usually milliseconds, and costs the API server nothing).
CATCH_UP: Final = 2.0


def same_object(known_uid: str, uid: str) -> bool:
    """Whether `uid` is the object we know (not one deleted and made again under its
    name). known_uid "": not known (a parent named by label alone), any object counts."""
    return not known_uid or known_uid == uid


def still_alive(known_uid: str, fresh: Mapping[str, Any] | None) -> bool:
    """Whether `fresh`, the object as the API server has it now (None: gone), is still
    the one we know and not being deleted."""
    if fresh is None:
        return False
    meta = fresh.get("metadata") or {}
    return same_object(known_uid, str(meta.get("uid", ""))) and not meta.get("deletionTimestamp")
