"""Family and Job: the client as a program uses it.

    family = Family.from_env()            # $DLWS_REST_API and $FAMILY_TOKEN of this job
    job = family.submit(jobName="worker", image="python:3.11", cmd="python work.py",
                        dataPath="data", jobType="training")
    job.wait_until("running", timeout=120)
    address = job.ip()
    job.kill()
"""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

from dlws_client import operations
from dlws_client.errors import ConfigError
from dlws_client.operations import Statuses
from dlws_client.transport import Transport

TOKEN_ENV = "FAMILY_TOKEN"
API_ENV = "DLWS_REST_API"
JOB_ENV = "DLWS_JOB_ID"


class Family:
    """The calling job's family: every job its token may submit, inspect and kill.

    `deadline`: seconds one call may spend on retries (429, 503, no answer) before it
    raises OverLimit or Unavailable; `request_timeout`: seconds one attempt may take.
    """

    def __init__(self, api_url: str, token: str, *, deadline: float = 60.0,
                 request_timeout: float = 30.0, job_id: Optional[str] = None) -> None:
        self.transport = Transport(api_url, token, deadline=deadline, request_timeout=request_timeout)
        # The job this runs in ($DLWS_JOB_ID): what submit() nests new jobs under.
        self.job_id = job_id

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, *, deadline: float = 60.0,
                 request_timeout: float = 30.0) -> Family:
        """The family of the job this runs in, from the variables every DLWS job gets."""
        env = os.environ if environ is None else environ
        missing = [name for name in (TOKEN_ENV, API_ENV) if not env.get(name)]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} not set: Family.from_env() reads what a "
                              f"DLWS job gets; elsewhere use Family(api_url, token)")
        return cls(env[API_ENV], env[TOKEN_ENV], deadline=deadline, request_timeout=request_timeout,
                   job_id=env.get(JOB_ENV) or None)

    @classmethod
    def over(cls, transport: Transport) -> Family:
        """A family that calls through this transport (its own clock, sleep, backoff)."""
        family = cls.__new__(cls)
        family.transport = transport
        family.job_id = None
        return family

    def __repr__(self) -> str:
        return f"Family({self.transport.api_url!r})"  # never the token

    def submit(self, *, jobName: str, image: str, dataPath: str, jobType: str, cmd: str = "",
               resourcegpu: int = 0, parentJobId: Optional[str] = None,
               idempotency_key: Optional[str] = None, **params: Any) -> Job:
        """SubmitJob with DLWS's parameters (any others, e.g. interactivePort, env, as
        keywords). The new job's parent is parentJobId, by default the job this runs in
        ($DLWS_JOB_ID, read by from_env), so it nests right on any network; without
        either, the shim finds the calling job itself, or else takes the family's root.
        One idempotency key (a uuid4 unless given) goes with every attempt, so a retry
        after a lost answer returns the same job instead of making a second one."""
        key = operations.new_key() if idempotency_key is None else idempotency_key
        body, replayed = operations.submit(self.transport, {
            "jobName": jobName, "image": image, "dataPath": dataPath, "jobType": jobType,
            "cmd": cmd, "resourcegpu": resourcegpu, "parentJobId": parentJobId or self.job_id, **params}, key)
        return Job(self, body["jobId"], replayed=replayed, idempotency_key=key)

    def job(self, job_id: str) -> Job:
        """A job of this family by its id (nothing is asked of the API yet)."""
        return Job(self, job_id)


class Job:
    def __init__(self, family: Family, job_id: str, *, replayed: bool = False,
                 idempotency_key: Optional[str] = None) -> None:
        self.family = family
        self.id = job_id
        self.replayed = replayed  # submit() got the answer an earlier call with its key got
        self.idempotency_key = idempotency_key  # the key submit() sent

    def __repr__(self) -> str:
        return f"Job({self.id!r})"

    def detail(self, log: bool = True) -> Dict[str, Any]:
        """JobDetail: jobStatus, podIP, parentJobId, jobParams, log (the end of its output;
        log=False leaves it out), ..."""
        return operations.detail(self.family.transport, self.id, log=log)

    def ip(self, wait: float = 0) -> str:
        """GetJobIP: the job's IP, waiting up to `wait` seconds for it; Refused if it has
        none by then, or ended without one."""
        return str(operations.job_ip(self.family.transport, self.id, wait)["IP"])

    def kill(self) -> None:
        """KillJob: the job and every job below it. Refused if the API cannot kill it
        (unknown, or already gone), unless an earlier attempt of this call may have."""
        operations.kill(self.family.transport, self.id)

    def wait_until(self, status: Statuses, timeout: float) -> Dict[str, Any]:
        """Polls JobDetail until jobStatus is `status` (a word or a set of them: queued,
        scheduling, running, finished, failed, killing, killed, error) and returns that detail
        (without its log).
        WaitTimeout after `timeout` seconds; JobEnded if the job ends otherwise."""
        return operations.wait_until(self.family.transport, self.id, status, timeout)
