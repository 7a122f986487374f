"""GetJobIP's rule for a job's address (api_shim/job_address.py)."""
import dataclasses

from api_shim.job_address import job_address
from api_shim.records import JobRecord, PodRecord
from dlws_contract import phases

JOB = JobRecord(namespace="ns", name="j1", uid="uid-1", family="d", parent="r", family_digest=None,
                deleting=False, phase=phases.PENDING, pod_ip=None, user_name="alice", user_id=1000)
POD = PodRecord(namespace="ns", name="j1", job="j1", owner_uid="uid-1", family="d", ips=("10.0.0.7",),
                scheduled=True, terminal=False, host_network=False, deleting=False)


def test_the_pods_address_before_the_status_has_it() -> None:
    assert job_address(JOB, POD) == "10.0.0.7"
    assert job_address(JOB, None) is None
    assert job_address(JOB, dataclasses.replace(POD, ips=())) is None
    running = dataclasses.replace(JOB, phase=phases.RUNNING, pod_ip="10.0.0.7")
    assert job_address(running, None) == "10.0.0.7"


def test_never_a_pod_another_job_controls_nor_one_that_ended_or_goes() -> None:
    for pod in (dataclasses.replace(POD, owner_uid="uid-of-an-earlier-j1"), dataclasses.replace(POD, terminal=True),
                dataclasses.replace(POD, deleting=True)):
        assert job_address(JOB, pod) is None, pod
    # The status's address of a job that ended stays its answer, as before.
    done = dataclasses.replace(JOB, phase=phases.SUCCEEDED, pod_ip="10.0.0.7")
    assert job_address(done, dataclasses.replace(POD, terminal=True)) == "10.0.0.7"


def test_none_once_the_kill_began() -> None:
    for job in (dataclasses.replace(JOB, deleting=True, pod_ip="10.0.0.7"),
                dataclasses.replace(JOB, phase=phases.KILLING, pod_ip="10.0.0.7")):
        assert job_address(job, POD) is None
