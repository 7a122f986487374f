"""A distributed job (DLWS's PSDistJob): one DLWSJob of `numps` parameter servers and
`numpsworker` workers, each a Pod, that find each other by DLWS's names `ps-<i>` and
`worker-<i>`. Pure: the names, the members and the environment both the operator and
the shim rely on.

The names resolve through Kubernetes' own means: a headless Service per job (its name
here) is each Pod's `subdomain`, each Pod's `hostname` is its DLWS name, and a DNS search
path of `<service>.<namespace>.svc.<cluster domain>` makes the bare name resolve to the
Pod of the job's own, and no other job's.
"""
from dataclasses import dataclass
from typing import Final

from dlws_contract import resource

PS: Final = "ps"
WORKER: Final = "worker"
ROLES: Final = (PS, WORKER)
PS_DIST: Final = "PSDistJob"
MPI_DIST: Final = "MPIDistJob"
COUNT_FIELDS: Final = ("numps", "numpsworker")
# What the CRD allows of each count; the cluster's own bound (the operator's and the
# shim's setting, default MAX_PODS_DEFAULT) applies to their sum.
MAX_COUNT: Final = 1000
MAX_PODS_DEFAULT: Final = 64
# Set in every Pod of a distributed job, and so not a job's own env there.
LAUNCHER_ENV: Final = ("MASTER_ADDR", "WORLD_SIZE", "RANK")
# On each Pod of a distributed job: its role and index; and DLWS's hostfile, which the
# Pod reads as /job/hostfile through the downward API.
LABEL_ROLE: Final = "dlworkspace.io/role"
LABEL_INDEX: Final = "dlworkspace.io/role-index"
HOSTFILE_ANNOTATION: Final = "dlworkspace.io/hostfile"
# On each Pod too, the job's "numps,numpsworker": the operator's status of all of them
# needs it, and reads only Pods.
SHAPE_ANNOTATION: Final = "dlworkspace.io/members"
_SERVICE_PREFIX: Final = "dlws-"


@dataclass(frozen=True, slots=True)
class Member:
    """One Pod of a distributed job."""
    role: str   # PS or WORKER
    index: int

    @property
    def host(self) -> str:
        """Its DLWS name, which every Pod of the job resolves: ps-0, worker-1."""
        return f"{self.role}-{self.index}"

    @property
    def directory(self) -> str:
        """Its own directory under the job's jobPath, DLWS's <role><i>: its /job."""
        return f"{self.role}{self.index}"

    def pod_name(self, job: str) -> str:
        """DLWS's Pod names: <jobId>-ps0, <jobId>-worker1."""
        return f"{job}-{self.directory}"


def is_distributed(training_type: str | None) -> bool:
    return training_type == PS_DIST


def members(num_ps: int, num_workers: int) -> list[Member]:
    """Every Pod of the job: the parameter servers first, then the workers."""
    return [Member(PS, i) for i in range(num_ps)] + [Member(WORKER, i) for i in range(num_workers)]


def rank(member: Member, num_ps: int) -> int:
    """Its place in one world of every Pod: ps-0 is rank 0 (MASTER_ADDR), the other
    parameter servers next, then the workers."""
    return member.index if member.role == PS else num_ps + member.index


def service_name(job: str) -> str:
    """The job's headless Service, the Pods' subdomain: a DNS-1035 label, deterministic,
    at most 63 characters."""
    return resource.service_name(_SERVICE_PREFIX, job)


def search_domain(job: str, namespace: str, cluster_domain: str = resource.CLUSTER_DOMAIN_DEFAULT) -> str:
    """Where a bare `ps-0` is looked up from inside a Pod of the job."""
    return f"{service_name(job)}.{namespace}.svc.{cluster_domain}"


def hosts(role: str, count: int) -> str:
    """DLWS_PS_HOSTS / DLWS_WORKER_HOSTS: the role's names, comma-separated."""
    return ",".join(Member(role, i).host for i in range(count))


def hostfile(num_workers: int, gpus_per_worker: int) -> str:
    """DLWS's /job/hostfile: one line per worker, `worker-<i> slots=<gpus>`."""
    return "".join(f"worker-{i} slots={gpus_per_worker}\n" for i in range(num_workers))


def member_env(member: Member, num_ps: int, num_workers: int, gpus_per_worker: int) -> dict[str, str]:
    """The variables a Pod of the job gets beside every job's (DLWS's, and for today's
    launchers MASTER_ADDR, WORLD_SIZE, RANK)."""
    return {
        "DLWS_ROLE_NAME": member.role,
        "DLWS_ROLE_IDX": str(member.index),
        "DLWS_NUM_PS": str(num_ps),
        "DLWS_NUM_WORKER": str(num_workers),
        "DLWS_NUM_GPU_PER_WORKER": str(gpus_per_worker),
        "DLWS_PS_HOSTS": hosts(PS, num_ps),
        "DLWS_WORKER_HOSTS": hosts(WORKER, num_workers),
        "MASTER_ADDR": Member(PS, 0).host,
        "WORLD_SIZE": str(num_ps + num_workers),
        "RANK": str(rank(member, num_ps)),
    }


def member_of_pod(job: str, pod_name: str, num_ps: int, num_workers: int) -> Member | None:
    """Which member a Pod of the job's is, by its name (None: none of them)."""
    return next((m for m in members(num_ps, num_workers) if m.pod_name(job) == pod_name), None)


def too_many_pods(num_ps: int, num_workers: int, bound: int) -> str | None:
    """Why the cluster refuses a job of this many Pods, or None."""
    if num_ps + num_workers <= bound:
        return None
    return (f"numps + numpsworker is {num_ps + num_workers} Pods, above this cluster's bound "
            f"of {bound} Pods per job")
