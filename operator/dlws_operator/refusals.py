"""Why the API server refused a job's Pod, when it was an admission plugin of the namespace
and not a fault: pure. The policy (decisions.pod_refused, carried out by lifecycle.start_job;
README "Quotas and limits"):

- ResourceQuota ("exceeded quota"): the job waits. Quota frees as other jobs finish, so
  the create is tried again with backoff (2, 4, 8 ... s, at most the operator's
  quota_retry_max apart, 30 s by default), for as long as the job lives. The job shows
  Pending with reason ExceededQuota and the API server's message; one Event says so.
- A PriorityClass that is not installed: the same, reason PriorityClassNotFound, until
  the cluster's administrator installs it (manifests/priority).
- LimitRange (a container above the namespace's maximum, below its minimum, or beyond
  its limit/request ratio): the same Pod would be refused every time, so the job fails,
  reason ExceededLimitRange, with the API server's message and an Event.
"""
from dataclasses import dataclass
from typing import Final

EXCEEDED_QUOTA: Final = "ExceededQuota"
PRIORITY_CLASS_NOT_FOUND: Final = "PriorityClassNotFound"
EXCEEDED_LIMIT_RANGE: Final = "ExceededLimitRange"
# What the LimitRanger admission plugin says, e.g. "maximum cpu usage per Container is 1,
# but limit is 2", "cpu max limit to request ratio per Container is 2, but provided ratio is 4".
_LIMIT_RANGE_WORDS: Final = ("usage per Container", "usage per Pod", "limit to request ratio")


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str  # the API server's
    waits: bool   # tried again later (True) or the job fails (False)


def pod_refusal(status: int | None, message: str) -> Refusal | None:
    """The refusal a failed Pod create means, from its HTTP status and the API server's
    message (kube_api.server_message), or None for any other failure (which the caller
    raises, as before: RBAC, an API server that is restarting, ...)."""
    if status != 403:
        return None
    if "exceeded quota" in message:
        return Refusal(EXCEEDED_QUOTA, message, waits=True)
    if "no PriorityClass with name" in message:
        return Refusal(PRIORITY_CLASS_NOT_FOUND, message, waits=True)
    if any(words in message for words in _LIMIT_RANGE_WORDS):
        return Refusal(EXCEEDED_LIMIT_RANGE, message, waits=False)
    return None


def retry_delay(retry: int, most: float) -> float:
    """Seconds before the next try of a waiting job's Pod: 2, 4, 8 ... at most `most`."""
    return float(min(2.0 * 2 ** min(retry, 16), most))
