"""GetJobIP's answer: the job's address as soon as its Pod has one in the shim's own view
of Pods (pod_index.py), not only once the operator has written it into the job's status.
Pure."""
from __future__ import annotations

from api_shim.records import JobRecord, PodRecord
from dlws_contract import phases


def job_address(job: JobRecord, pod: PodRecord | None) -> str | None:
    """The address GetJobIP answers for the job, or None (none yet, or none any more).

    pod: the Pod of the job's name in the shim's view, if any. Its address counts only if
    this job controls it (a Pod of an earlier job of the same name has another owner uid)
    and it neither ended nor is being deleted. Once the job's kill has begun, no address.
    Otherwise the status's, which the operator also keeps after the job ended."""
    if job.deleting or job.phase == phases.KILLING:
        return None
    if pod is not None and pod.ips and pod.owner_uid == job.uid and not pod.terminal and not pod.deleting:
        return pod.ips[0]
    return job.pod_ip
