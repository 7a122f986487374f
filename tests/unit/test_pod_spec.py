"""The Pod built for a DLWSJob: a pure function, specified without a cluster."""
from typing import Any

from dlws_contract import resource
from dlws_operator.pod_spec import DIRS_MOUNT, build_pod, job_command
from dlws_operator.config import OperatorConfig


def job(name: str = "j1", labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": resource.API_VERSION, "kind": resource.KIND,
        "metadata": {"name": name, "namespace": "ns", "uid": "uid-1", "generation": 1,
                     "labels": labels or {}},
        "spec": {"jobName": "n", "image": "busybox", "jobType": "training", **spec},
    }


def env_of(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}


def test_pod_is_named_after_the_job_and_controlled_by_it() -> None:
    pod = build_pod(job("abc"))
    assert pod["metadata"]["name"] == "abc"
    [owner] = pod["metadata"]["ownerReferences"]
    assert owner == {"apiVersion": resource.API_VERSION, "kind": "DLWSJob", "name": "abc",
                     "uid": "uid-1", "controller": True, "blockOwnerDeletion": True}
    assert pod["metadata"]["labels"][resource.LABEL_JOB] == "abc"


def test_family_token_comes_from_the_roots_secret_never_as_a_value() -> None:
    child = job("c", labels={resource.LABEL_PARENT: "p", resource.LABEL_ROOT: "r",
                             resource.LABEL_FAMILY: "d" * 63})
    env = env_of(build_pod(child))
    assert env["FAMILY_TOKEN"] == {"secretKeyRef": {"name": "r-family-token", "key": "token"}}
    root_env = env_of(build_pod(job("r")))
    assert root_env["FAMILY_TOKEN"]["secretKeyRef"]["name"] == "r-family-token"


def test_dlws_environment_is_set() -> None:
    config = OperatorConfig(rest_api="http://shim.example:5000/")
    env = env_of(build_pod(job("j", userName="alice", userId=1234, dataPath="imagenet"), config=config))
    assert env["DLWS_REST_API"] == "http://shim.example:5000/"
    assert env_of(build_pod(job("j")))["DLWS_REST_API"] == "http://dlws-api.dlws-system.svc:5000/"  # the default
    assert env["DLWS_JOB_ID"] == "j"
    assert env["DLWS_USER_NAME"] == "alice"
    assert env["DLWS_UID"] == "1234"
    assert env["DLWS_GID"] == "1234"
    assert env["DLWS_NUM_GPU_PER_WORKER"] == "0"
    assert env["DLWS_DATA_PATH"] == "imagenet"
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert "DLWS_VC_NAME" not in env


def test_a_job_s_own_group_and_virtual_cluster() -> None:
    j = job("j", userName="alice", userId=1000, gid=2000, vcName="platform")
    pod = build_pod(j, config=STORAGE)
    env = env_of(pod)
    assert (env["DLWS_UID"], env["DLWS_GID"], env["DLWS_VC_NAME"]) == ("1000", "2000", "platform")
    assert pod["spec"]["containers"][0]["securityContext"]["runAsGroup"] == 2000
    assert pod["spec"]["initContainers"][0]["command"][4] == "1000:2000"  # its directories' owner


def test_user_env_follows_system_env() -> None:
    pod = build_pod(job(env={"B": "2", "A": "1"}))
    names = [e["name"] for e in pod["spec"]["containers"][0]["env"]]
    assert names[-2:] == ["A", "B"]


def test_cmd_runs_through_a_shell_and_empty_cmd_keeps_the_entrypoint() -> None:
    c = build_pod(job(cmd="echo $HOME && sleep 1"))["spec"]["containers"][0]
    assert c["command"] == job_command("echo $HOME && sleep 1")
    assert c["command"][-2] == "echo $HOME && sleep 1"  # verbatim, for the job's own shell
    assert "command" not in build_pod(job(cmd=""))["spec"]["containers"][0]


def test_gpus_become_limits_and_ports_container_ports() -> None:
    c = build_pod(job(resourcegpu=2, interactivePorts=[8888, 6006]))["spec"]["containers"][0]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert [p["containerPort"] for p in c["ports"]] == [8888, 6006]
    assert "nvidia.com/gpu" not in build_pod(job(resourcegpu=0))["spec"]["containers"][0][
        "resources"]["limits"]


def test_security_context_follows_runningasroot_and_user_id() -> None:
    sc = lambda **s: build_pod(job(**s))["spec"]["containers"][0]["securityContext"]  # noqa: E731
    assert sc(runningasroot=True) == {"runAsUser": 0}
    assert sc(userId=1000) == {"allowPrivilegeEscalation": False, "runAsUser": 1000, "runAsGroup": 1000,
                               "runAsNonRoot": True}
    assert sc(userId=0) == {"allowPrivilegeEscalation": False}


def test_pod_never_restarts_and_has_no_service_account_token() -> None:
    spec = build_pod(job())["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False


def test_gitops_labels_of_the_job_are_not_copied_to_the_pod() -> None:
    pod = build_pod(job(labels={"app.kubernetes.io/instance": "argo-app"}))
    assert "app.kubernetes.io/instance" not in pod["metadata"]["labels"]


def test_the_pod_carries_its_family_digest_also_on_a_root_s_first_run() -> None:
    assert build_pod(job(), family="d1")["metadata"]["labels"][resource.LABEL_FAMILY] == "d1"
    labelled = job(labels={resource.LABEL_FAMILY: "d2"})
    assert build_pod(labelled)["metadata"]["labels"][resource.LABEL_FAMILY] == "d2"


STORAGE = OperatorConfig(storage_host_path="/srv/dlws")


def mounts_of(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in pod["spec"]["containers"][0]["volumeMounts"]}


def test_data_work_and_job_are_subpaths_of_the_one_storage_volume() -> None:
    j = job("0b7e", userName="alice", userId=1000, dataPath="imagenet")
    j["metadata"]["creationTimestamp"] = "2026-12-07T21:28:25Z"
    pod = build_pod(j, config=STORAGE)
    mounts = mounts_of(pod)
    assert {p: (m["name"], m.get("subPath")) for p, m in mounts.items()} == {
        "/data": ("dlws-storage", "storage/imagenet"), "/work": ("dlws-storage", "work/alice"),
        "/job": ("dlws-storage", "work/alice/jobs/261207/0b7e"), "/dev/shm": ("dlws-shm", None)}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["dlws-storage"]["hostPath"] == {"path": "/srv/dlws", "type": "DirectoryOrCreate"}
    claim = build_pod(j, config=OperatorConfig(storage_claim="nfs"))
    assert {v["name"]: v for v in claim["spec"]["volumes"]}["dlws-storage"] == {
        "name": "dlws-storage", "persistentVolumeClaim": {"claimName": "nfs"}}


def test_the_job_directories_are_made_as_root_in_the_users_tree_only_owned_by_the_user() -> None:
    j = job("0b7e", userName="alice", userId=1000, workPath="proj", jobPath="alice/runs/1", memorylimit="1G")
    [init] = build_pod(j, config=STORAGE)["spec"]["initContainers"]
    assert init["image"] == "busybox"  # the job's own image
    assert init["securityContext"]["runAsUser"] == 0
    assert init["volumeMounts"] == [{"name": "dlws-storage", "mountPath": DIRS_MOUNT, "subPath": "work/alice"}]
    assert init["command"][-3:] == ["1000:1000", "proj", "runs/1"]  # owner, then paths in the user's tree
    # The user's, also for a job that runs as root: /work is shared with the user's jobs.
    as_root = build_pod(job("0b7e", userName="alice", userId=1000, runningasroot=True), config=STORAGE)
    assert as_root["spec"]["initContainers"][0]["command"][4] == "1000:1000"
    assert init["resources"]["limits"] == {"cpu": "500m", "memory": "1G"}  # the job's, no more
    annotations = build_pod(j, config=STORAGE)["metadata"]["annotations"]
    assert annotations["kubectl.kubernetes.io/default-container"] == "job"  # for kubectl logs, exec
    # The job's own container still runs as its user.
    assert build_pod(j, config=STORAGE)["spec"]["containers"][0]["securityContext"]["runAsUser"] == 1000


def test_without_storage_work_and_job_are_empty_directories_of_the_pod() -> None:
    pod = build_pod(job(userName="alice", userId=1000))
    assert "initContainers" not in pod["spec"]
    assert {p: m["name"] for p, m in mounts_of(pod).items()} == {
        "/work": "dlws-work", "/job": "dlws-job", "/dev/shm": "dlws-shm"}


def test_dev_shm_is_memory_backed_and_as_large_as_the_memory_limit_or_the_setting() -> None:
    def shm(pod: dict[str, Any]) -> dict[str, Any]:
        return {v["name"]: v for v in pod["spec"]["volumes"]}["dlws-shm"]["emptyDir"]
    assert shm(build_pod(job(memorylimit="4Gi"))) == {"medium": "Memory", "sizeLimit": "4Gi"}
    assert shm(build_pod(job(memorylimit="4Gi"), config=OperatorConfig(shm_size="1Gi")))["sizeLimit"] == "1Gi"


def test_home_is_the_job_directory_and_user_names_the_family_user() -> None:
    env = env_of(build_pod(job(userName="alice")))
    assert (env["HOME"], env["USER"], env["LOGNAME"]) == ("/job", "alice", "alice")
    names = [e["name"] for e in build_pod(job(env={"HOME": "/tmp"}))["spec"]["containers"][0]["env"]]
    assert names.index("HOME") < len(names) - 1 and names[-1] == "HOME"  # the job's own, last, wins


def test_the_cmd_runs_under_bash_when_the_image_has_it() -> None:
    init = build_pod(job(cmd="true"))["spec"]["containers"][0]["command"][2]
    assert "command -v bash" in init and '"$shell" -c "$1"' in init
