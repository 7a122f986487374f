"""What the shim answers about a job a kill took (kill_index.Killed), in DLWS's words:
jobStatus "killed", when, and which job's kill it was. Pure."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from api_shim.kill_index import Killed
from api_shim.records import JobRecord
from dlws_contract import phases
from dlws_contract.kill_record import KilledJob

KILLED: Final = phases.KILLED_STATUS  # DLWS's jobStatus of a killed job


def kill_reason(killed: Killed) -> str:
    job, record = killed.job, killed.record
    whose = "KillJob of this job" if record.killed == job.name else f"KillJob of job {record.killed} above it"
    return f"killed at {record.killed_at} by the {whose}"


def applies(killed: Killed | None, digest: str, job: JobRecord | None) -> Killed | None:
    """The kill that took this job, if the record is of the caller's family and names this
    very job (its uid), or names a job no longer there (job None)."""
    if killed is None or killed.record.family != digest:
        return None
    if job is not None and killed.job.uid and job.uid != killed.job.uid:
        return None  # another job of the same name, made after the kill
    return killed


def kill_fields(killed: Killed) -> dict[str, Any]:
    return {"jobStatus": KILLED, "killedAt": killed.record.killed_at, "killedBy": killed.record.killed}


def with_kill(detail: Mapping[str, Any], killed: Killed) -> dict[str, Any]:
    """A JobDetail of a job still there (the garbage collector at work) that a kill took."""
    return {**detail, **kill_fields(killed)}


def gone_detail(killed: Killed) -> dict[str, Any]:
    """JobDetail of a killed job the garbage collector has removed: what its record kept."""
    job: KilledJob = killed.job
    record = killed.record
    return {
        "jobId": job.name,
        "jobName": job.job_name,
        **kill_fields(killed),
        "jobStatusDetail": [{"phase": None, "podName": None, "podIP": None, "reason": "Killed",
                             "message": kill_reason(killed), "startTime": None,
                             "completionTime": record.killed_at}],
        "jobTime": job.created,
        "parentJobId": job.parent,
        "rootJobId": record.root,
        "podIP": None,
        "endpoints": [],
        "errorMsg": "",
        "isParent": 0 if job.parent else 1,
    }


def no_ip(killed: Killed) -> str:
    return f"Job {killed.job.name} has no IP: it was {kill_reason(killed)}"
