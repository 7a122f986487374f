"""The child DLWSJob body: a pure function of the request and the family."""
import dataclasses

from api_shim.child_job import build_child
from api_shim.records import JobRecord
from dlws_contract import resource
from dlws_contract.spec import spec_from_parameters

ROOT = JobRecord(namespace="team-a", name="root-1", uid="uid-root", family="d" * 63, parent=None,
                 family_digest="d" * 63, deleting=False, phase="Running",
                 pod_ip="10.0.0.1", user_name="alice", user_id=1000)
PARENT = JobRecord(namespace="team-a", name="mid-1", uid="uid-mid", family="d" * 63, parent="root-1",
                   family_digest=None, deleting=False, phase="Running",
                   pod_ip=None, user_name="alice", user_id=1000)
PARAMS = {"jobName": "c", "resourcegpu": "0", "dataPath": "data", "image": "busybox",
          "jobType": "training", "userName": "mallory", "userId": "0"}


def child(parent: JobRecord = ROOT) -> dict:
    return build_child(name="5f0c6c1e-0000-4000-8000-000000000000", spec=spec_from_parameters(PARAMS),
                       parent=parent, root=ROOT, digest="d" * 63)


def test_child_is_named_and_placed_in_the_roots_namespace() -> None:
    body = child()
    assert body["apiVersion"] == resource.API_VERSION and body["kind"] == resource.KIND
    assert body["metadata"]["name"] == "5f0c6c1e-0000-4000-8000-000000000000"
    assert body["metadata"]["namespace"] == "team-a"


def test_child_carries_only_the_family_labels() -> None:
    assert child(PARENT)["metadata"]["labels"] == {
        resource.LABEL_FAMILY: "d" * 63, resource.LABEL_PARENT: "mid-1", resource.LABEL_ROOT: "root-1"}


def test_child_is_owned_by_its_parent_from_creation() -> None:
    assert child(PARENT)["metadata"]["ownerReferences"] == [{
        "apiVersion": resource.API_VERSION, "kind": resource.KIND, "name": "mid-1", "uid": "uid-mid",
        "controller": True, "blockOwnerDeletion": True}]


def test_child_runs_as_the_family_user_not_the_requested_one() -> None:
    spec = child()["spec"]
    assert (spec["userName"], spec["userId"]) == ("alice", 1000)


def test_child_spec_is_the_parsed_parameters() -> None:
    spec = child()["spec"]
    assert spec["jobName"] == "c" and spec["image"] == "busybox" and spec["resourcegpu"] == 0
    assert "familyToken" not in spec and "parentJobId" not in spec


def test_child_stores_its_storage_paths_resolved_as_dlws_did() -> None:
    import datetime
    spec = build_child(name="5f0c", spec=spec_from_parameters({**PARAMS, "workPath": "proj"}), parent=ROOT,
                       root=ROOT, digest="d" * 63, today=datetime.date(2026, 12, 7))["spec"]
    assert (spec["dataPath"], spec["workPath"], spec["jobPath"]) == ("data", "alice/proj", "alice/jobs/261207/5f0c")


def test_child_takes_the_roots_group_and_its_parents_virtual_cluster_unless_it_names_one() -> None:
    root = dataclasses.replace(ROOT, group_id=2000, vc_name="research")
    parent = dataclasses.replace(PARENT, group_id=None, vc_name="platform")
    make = lambda **p: build_child(name="5f0c6c1e-0000-4000-8000-000000000000",  # noqa: E731
                                   spec=spec_from_parameters({**PARAMS, **p}), parent=parent, root=root,
                                   digest="d" * 63)["spec"]
    assert (make()["gid"], make()["vcName"]) == (2000, "platform")
    assert make(vcName="vision")["vcName"] == "vision"
    assert "gid" not in child()["spec"] and "vcName" not in child()["spec"]
