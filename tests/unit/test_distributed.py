"""A distributed job (PSDistJob): its names and environment (dlws_contract.distributed),
and the Pods and headless Service built for it (pod_spec): pure functions."""
from typing import Any

from api_shim.detail import job_detail
from api_shim.records import record_from_object
from api_shim.routes import job_ips
from dlws_contract import distributed, phases, resource
from dlws_contract.distributed import PS, WORKER, Member
from dlws_operator import decisions
from dlws_operator.config import OperatorConfig
from dlws_operator.decisions import Mirror, PodLost, Stop
from dlws_operator.events import JobRef
from dlws_operator.job_view import JobView, job_view
from dlws_operator.pod_spec import build_pods, build_service, pod_names
from dlws_operator.status import PodState, distributed_phase, pod_state
from dlws_kubectl.tree_view import job_view as tree_job_view

UUID = "0b7e5f0e-3f64-4c8e-9a4e-0c0f2b0f8f13"


def dist_job(name: str = UUID, num_ps: int = 1, num_workers: int = 2, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": resource.API_VERSION, "kind": resource.KIND,
        "metadata": {"name": name, "namespace": "ns", "uid": "uid-1", "generation": 1,
                     "labels": {}, "creationTimestamp": "2026-12-08T01:02:03Z"},
        "spec": {"jobName": "n", "image": "img", "jobType": "training", "jobtrainingtype": "PSDistJob",
                 "numps": num_ps, "numpsworker": num_workers, "userName": "alice", "userId": 1000, **spec},
    }


def env_of(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}


def test_members_are_dlws_names_and_pods() -> None:
    ms = distributed.members(2, 3)
    assert [m.host for m in ms] == ["ps-0", "ps-1", "worker-0", "worker-1", "worker-2"]
    assert [m.pod_name("j") for m in ms][:3] == ["j-ps0", "j-ps1", "j-worker0"]
    assert [distributed.rank(m, 2) for m in ms] == [0, 1, 2, 3, 4]
    assert distributed.member_of_pod("j", "j-worker2", 2, 3) == Member(WORKER, 2)
    assert distributed.member_of_pod("j", "j-worker3", 2, 3) is None


def test_the_service_name_is_a_dns_1035_label_for_any_job_name() -> None:
    assert distributed.service_name(UUID) == f"dlws-{UUID}"  # a uuid may begin with a digit
    long = "a" * 63
    name = distributed.service_name(long)
    assert len(name) <= 63 and name[0].isalpha() and name != distributed.service_name("a" * 62 + "b")
    assert distributed.search_domain("j", "ns") == "dlws-j.ns.svc.cluster.local"


def test_every_pod_gets_its_role_the_jobs_shape_and_the_launchers_variables() -> None:
    pods = build_pods(dist_job(resourcegpu=2))
    assert [p["metadata"]["name"] for p in pods] == [f"{UUID}-ps0", f"{UUID}-worker0", f"{UUID}-worker1"]
    assert pod_names(dist_job()) == [p["metadata"]["name"] for p in pods]
    worker1 = env_of(pods[2])
    assert {k: worker1[k] for k in ("DLWS_ROLE_NAME", "DLWS_ROLE_IDX", "DLWS_NUM_PS", "DLWS_NUM_WORKER",
                                    "DLWS_NUM_GPU_PER_WORKER", "DLWS_PS_HOSTS", "DLWS_WORKER_HOSTS",
                                    "MASTER_ADDR", "WORLD_SIZE", "RANK")} == {
        "DLWS_ROLE_NAME": "worker", "DLWS_ROLE_IDX": "1", "DLWS_NUM_PS": "1", "DLWS_NUM_WORKER": "2",
        "DLWS_NUM_GPU_PER_WORKER": "2", "DLWS_PS_HOSTS": "ps-0", "DLWS_WORKER_HOSTS": "worker-0,worker-1",
        "MASTER_ADDR": "ps-0", "WORLD_SIZE": "3", "RANK": "2"}
    assert env_of(pods[0])["DLWS_ROLE_NAME"] == PS and env_of(pods[0])["RANK"] == "0"
    names = [e["name"] for e in pods[2]["spec"]["containers"][0]["env"]]
    assert len(names) == len(set(names))  # DLWS_NUM_GPU_PER_WORKER once
    # resources per Pod, each the job's
    assert all(p["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2" for p in pods)


def test_every_pod_resolves_the_jobs_names_through_its_headless_service() -> None:
    job = dist_job()
    service = build_service(job)
    assert service["metadata"]["name"] == f"dlws-{UUID}"
    assert service["spec"] == {"clusterIP": "None", "publishNotReadyAddresses": True,
                               "selector": {resource.LABEL_JOB: UUID}}
    assert service["metadata"]["ownerReferences"][0]["uid"] == "uid-1"  # a kill removes it
    worker = build_pods(job, config=OperatorConfig(cluster_domain="example.org"))[1]
    assert worker["metadata"]["labels"][resource.LABEL_JOB] == UUID  # the Service selects it
    assert worker["metadata"]["labels"][distributed.LABEL_ROLE] == "worker"
    assert (worker["spec"]["hostname"], worker["spec"]["subdomain"]) == ("worker-0", f"dlws-{UUID}")
    assert worker["spec"]["dnsConfig"] == {"searches": [f"dlws-{UUID}.ns.svc.example.org"]}


def test_each_pod_has_its_own_job_directory_and_the_hostfile() -> None:
    config = OperatorConfig(storage_host_path="/srv/dlws")
    pods = build_pods(dist_job(resourcegpu=4), config=config)
    for pod, directory in zip(pods, ("ps0", "worker0", "worker1")):
        mounts = {m["mountPath"]: m for m in pod["spec"]["containers"][0]["volumeMounts"]}
        assert mounts["/job"]["subPath"] == f"work/alice/jobs/261208/{UUID}/{directory}"
        assert pod["spec"]["initContainers"][0]["command"][-1] == f"jobs/261208/{UUID}/{directory}"
        assert mounts["/job/hostfile"]["subPath"] == "hostfile"
        assert pod["metadata"]["annotations"][distributed.HOSTFILE_ANNOTATION] == (
            "worker-0 slots=4\nworker-1 slots=4\n")
    # without storage too
    mounts = [m["mountPath"] for m in build_pods(dist_job())[0]["spec"]["containers"][0]["volumeMounts"]]
    assert "/job/hostfile" in mounts


def test_a_one_pod_job_is_unchanged() -> None:
    job = dist_job()
    job["spec"] = {k: v for k, v in job["spec"].items() if k not in ("jobtrainingtype", "numps", "numpsworker")}
    [pod] = build_pods(job)
    assert pod["metadata"]["name"] == UUID and "hostname" not in pod["spec"]
    assert "DLWS_ROLE_NAME" not in env_of(pod) and pod_names(job) == [UUID]


# -- its life: the status of all its Pods, and the Pods a finished job stops (decisions.py) ----

NOW = "2026-12-08T00:00:00Z"
JOB = JobRef("ns", "j", "uid-j")
SHAPE = (1, 2)


def member_pod(member: str, phase: str = "Running", *, ip: str | None = "10.0.0.1", exit_code: int | None = None,
               reason: str | None = None, message: str | None = None, deleting: bool = False) -> PodState:
    role, index = member.split("-")
    m = Member(role, int(index))
    terminated = {"exitCode": exit_code, "finishedAt": NOW} if exit_code is not None else {}
    return PodState(namespace="ns", name=m.pod_name("j"), owner=JOB, generation="1", deleting=deleting,
                    phase=phase, ip=ip, start_time=NOW, reason=reason, message=message,
                    ready={"status": "True"} if phase == "Running" else {}, terminated=terminated,
                    member=m, shape=SHAPE, uid=f"uid-{member}")


def by_name(*pods: PodState) -> dict[str, PodState]:
    return {p.name: p for p in pods}


def view(status: dict[str, Any] | None = None, *, deleting: bool = False) -> JobView:
    return job_view({"uid": "uid-j", **({"deletionTimestamp": NOW} if deleting else {})}, status or {})


def test_a_pod_reads_its_member_and_the_jobs_shape() -> None:
    pod = build_pods(dist_job("j"))[2]
    pod["metadata"]["uid"] = "u2"
    state = pod_state(pod)
    assert (state.member, state.shape, state.uid) == (Member(WORKER, 1), (1, 2), "u2")


def test_running_when_every_pod_runs_with_ps_0s_ip() -> None:
    ps = member_pod("ps-0", ip="10.0.0.9")
    pods = by_name(ps, member_pod("worker-0"), member_pod("worker-1", "Pending", ip=None))
    assert distributed_phase("j", SHAPE, pods)[0] == phases.PENDING
    pods[member_pod("worker-1").name] = member_pod("worker-1")
    action = decisions.mirror(ps, False, view(), now=NOW, job_pods=pods)
    assert isinstance(action, Mirror) and action.stop == ()
    status = action.status
    assert (status["phase"], status["podIP"], status["podName"], status["readyPods"]) == (
        phases.RUNNING, "10.0.0.9", "j-ps0", "3/3")
    assert [(p["host"], p["phase"]) for p in status["pods"]] == [
        ("ps-0", "Running"), ("worker-0", "Running"), ("worker-1", "Running")]
    # written once: the same again is nothing to write
    assert decisions.mirror(ps, False, view(status), now=NOW, job_pods=pods) is None


def test_pending_with_the_schedulers_reason() -> None:
    pods = by_name(member_pod("ps-0"), member_pod("worker-0"),
                   member_pod("worker-1", "Pending", ip=None, reason="Unschedulable",
                              message="0/1 nodes are available: 1 Insufficient cpu."))
    phase, reason, message = distributed_phase("j", SHAPE, pods)
    assert (phase, reason) == (phases.PENDING, "Unschedulable")
    assert message == "pod j-worker1: 0/1 nodes are available: 1 Insufficient cpu."


def test_a_failed_pod_fails_the_job_naming_it_and_its_code_and_stops_the_rest() -> None:
    failed = member_pod("worker-1", "Failed", exit_code=3)
    pods = by_name(member_pod("ps-0"), member_pod("worker-0"), failed)
    action = decisions.mirror(failed, False, view(), now=NOW, job_pods=pods)
    assert isinstance(action, Mirror)
    assert action.status["phase"] == phases.FAILED
    assert action.status["message"].startswith("pod j-worker1 (worker-1) failed: exited with code 3")
    assert [p["exitCode"] for p in action.status["pods"] if "exitCode" in p] == [3]
    assert [p.name for p in action.stop] == ["j-ps0", "j-worker0"]
    # once the status says so, later events only stop what still runs
    later = decisions.mirror(member_pod("worker-0"), False, view(action.status), now=NOW, job_pods=pods)
    assert isinstance(later, Stop) and [p.name for p in later.pods] == ["j-ps0", "j-worker0"]


def test_finished_when_every_worker_exits_0_then_the_ps_is_stopped() -> None:
    w0 = member_pod("worker-0", "Succeeded", exit_code=0)
    pods = by_name(member_pod("ps-0"), w0, member_pod("worker-1"))
    assert distributed_phase("j", SHAPE, pods)[0] == phases.RUNNING  # one worker still runs
    pods = by_name(member_pod("ps-0"), w0, member_pod("worker-1", "Succeeded", exit_code=0))
    action = decisions.mirror(w0, False, view(), now=NOW, job_pods=pods)
    assert isinstance(action, Mirror) and action.status["phase"] == phases.SUCCEEDED
    assert [p.name for p in action.stop] == ["j-ps0"]
    # the ps going away afterwards changes nothing
    gone = member_pod("ps-0", deleting=True)
    after = by_name(w0, member_pod("worker-1", "Succeeded", exit_code=0))
    assert decisions.mirror(gone, True, view(action.status), now=NOW, job_pods=after) is None


def test_a_pod_deleted_from_under_a_running_job_fails_it_and_stops_the_rest() -> None:
    pods = by_name(member_pod("ps-0"), member_pod("worker-0"))
    action = decisions.mirror(member_pod("worker-1"), True, view({"phase": "Running"}), now=NOW, job_pods=pods)
    assert isinstance(action, PodLost) and action.status["phase"] == phases.FAILED
    assert [p.name for p in action.stop] == ["j-ps0", "j-worker0"]


def test_a_killed_job_is_left_to_the_garbage_collector() -> None:
    pods = by_name(member_pod("ps-0"), member_pod("worker-0"), member_pod("worker-1"))
    assert decisions.mirror(member_pod("ps-0"), False, view(deleting=True), now=NOW, job_pods=pods) is None
    assert decisions.mirror(member_pod("ps-0", deleting=True), False, view(), now=NOW, job_pods=pods) is None


def test_too_many_pods_for_the_cluster_get_none() -> None:
    spec = dist_job(num_ps=2, num_workers=3)["spec"]
    refusal = decisions.refusal_before_pod(None, spec, (), max_pods=4)
    assert refusal is not None and refusal.reason == "TooManyPods" and "bound of 4 Pods" in refusal.message
    assert decisions.refusal_before_pod(None, spec, (), max_pods=5) is None


# -- the /child API and kubectl dlws tree: one job, all its Pods ---------------------------------


def dist_object(ready: str = "3/3") -> dict[str, Any]:
    obj = dist_job("j")
    obj["status"] = {"phase": "Running", "podName": "j-ps0", "podIP": "10.0.0.2", "readyPods": ready, "pods": [
        {"name": "j-ps0", "role": "ps", "index": 0, "host": "ps-0", "phase": "Running", "podIP": "10.0.0.2"},
        {"name": "j-worker0", "role": "worker", "index": 0, "host": "worker-0", "phase": "Running",
         "podIP": "10.0.0.3"},
        {"name": "j-worker1", "role": "worker", "index": 1, "host": "worker-1", "phase": "Pending"}]}
    return obj


def test_get_job_ip_answers_ps_0s_ip_and_every_pods_once_each_has_one() -> None:
    record = record_from_object(dist_object())
    assert not record.members_have_ips  # worker-1 has none yet: a GetJobIP with wait holds on
    assert job_ips(record, "10.0.0.2") == {"IP": "10.0.0.2", "IPs": [
        {"role": "ps", "index": 0, "IP": "10.0.0.2"}, {"role": "worker", "index": 0, "IP": "10.0.0.3"},
        {"role": "worker", "index": 1, "IP": None}]}
    one = record_from_object({"metadata": {"name": "r"}, "status": {"podIP": "10.0.0.9"}})
    assert one.members_have_ips and job_ips(one, "10.0.0.9") == {"IP": "10.0.0.9"}  # the document's, as before


def test_job_detail_has_one_entry_per_pod() -> None:
    detail = job_detail(dist_object())["jobStatusDetail"]
    assert [(d["podName"], d["host"], d["phase"], d["podIP"]) for d in detail] == [
        ("j-ps0", "ps-0", "Running", "10.0.0.2"), ("j-worker0", "worker-0", "Running", "10.0.0.3"),
        ("j-worker1", "worker-1", "Pending", None)]


def test_kubectl_dlws_tree_draws_it_as_one_job_with_its_pod_count() -> None:
    assert tree_job_view(dist_object("2/3")).status == "running (2/3 pods)"
    waiting = dist_object()
    del waiting["status"]
    assert tree_job_view(waiting).status == "queued (0/3 pods)"
