"""Job phases: what the operator writes into status.phase and what JobDetail reports."""
from typing import Final

PENDING: Final = "Pending"
RUNNING: Final = "Running"
SUCCEEDED: Final = "Succeeded"
FAILED: Final = "Failed"
KILLING: Final = "Killing"
PHASES: Final = (PENDING, RUNNING, SUCCEEDED, FAILED, KILLING)
FINISHED_PHASES: Final = frozenset({SUCCEEDED, FAILED})

# DLWS's jobStatus words for each phase (the original statuses: scheduling, running,
# finished, failed, killing, ...).
_DLWS_STATUS: Final = {
    PENDING: "scheduling",
    RUNNING: "running",
    SUCCEEDED: "finished",
    FAILED: "failed",
    KILLING: "killing",
}
# Not a phase: JobDetail's word for a job a kill took (the kill's record says so;
# dlws_contract/kill_record.py), whether the garbage collector has removed it yet or not.
KILLED_STATUS: Final = "killed"


def job_status(phase: str | None, deleting: bool) -> str:
    """JobDetail's jobStatus of a job: before the operator has written Killing, the
    deletion (metadata.deletionTimestamp) says it."""
    return dlws_status(KILLING if deleting else phase)


def dlws_status(phase: str | None) -> str:
    """A job without a phase yet (not seen by the operator, or its pod made moments ago:
    the operator holds a new job's first Pending back briefly): DLWS called that queued."""
    if not phase:
        return "queued"
    return _DLWS_STATUS.get(phase, "error")
