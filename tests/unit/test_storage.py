"""DLWS's storage paths of a job (dlws_contract/storage.py): the one rule the shim and the
operator apply, and the CRD's validation of the same fields."""
import datetime
from pathlib import Path

import pytest
import yaml

from dlws_contract.spec import STORAGE_PATH_FIELDS, InvalidJob, path_problem, spec_from_parameters
from dlws_contract.storage import StoragePaths, created_day, storage_paths, storage_problem

DAY = datetime.date(2026, 12, 7)
CRD = Path(__file__).resolve().parents[2] / "crds" / "dlwsjob.yaml"


def paths(**given: str) -> StoragePaths:
    return storage_paths(user_name="alice", job_id="0b7e", created=DAY, **given)


def test_dlws_defaults_put_the_job_under_the_users_tree() -> None:
    got = paths(dataPath="imagenet")
    assert got == StoragePaths(dataPath="imagenet", workPath="alice", jobPath="alice/jobs/261207/0b7e")
    assert (got.data_subpath, got.work_subpath, got.job_subpath) == (
        "storage/imagenet", "work/alice", "work/alice/jobs/261207/0b7e")


def test_work_and_job_paths_are_relative_to_the_user_data_paths_are_shared() -> None:
    got = paths(dataPath="sets/coco", workPath="proj", jobPath="runs/1")
    assert (got.dataPath, got.workPath, got.jobPath) == ("sets/coco", "alice/proj", "alice/runs/1")
    assert paths(workPath="alice/proj").workPath == "alice/proj"
    # The first component, not a string prefix: alice2's tree is not alice's.
    assert paths(workPath="alice2/x").workPath == "alice/alice2/x"
    assert paths(workPath="bob/x").workPath == "alice/bob/x"
    assert paths(workPath="./a//b/").workPath == "alice/a/b"
    assert paths(dataPath="").data_subpath == "storage"


def test_resolving_is_idempotent_so_the_operator_mounts_what_the_shim_stored() -> None:
    first = paths(dataPath="d", workPath="w/x")
    again = storage_paths(user_name="alice", job_id="other", created=datetime.date(2030, 1, 1),
                          dataPath=first.dataPath, workPath=first.workPath, jobPath=first.jobPath)
    assert again == first


@pytest.mark.parametrize("value", ["..", "a/../b", "x..", "a\\.b", "/etc", "\\share", "a\x00b"])
@pytest.mark.parametrize("field", STORAGE_PATH_FIELDS)
def test_every_path_rule_is_refused_naming_the_parameter(field: str, value: str) -> None:
    assert (problem := path_problem(field, value)) is not None and problem.startswith(field)
    with pytest.raises(InvalidJob, match=f"^{field}"):
        paths(**{field: value})
    assert storage_problem({"userName": "alice", field: value}) == problem
    params = {"jobName": "j", "resourcegpu": "0", "dataPath": "d", "image": "i", "jobType": "t", field: value}
    with pytest.raises(InvalidJob, match=f"^{field}"):
        spec_from_parameters(params)


@pytest.mark.parametrize("user", ["", ".", "..", "a/b", "a\\b"])
def test_a_user_name_that_names_no_directory_is_refused(user: str) -> None:
    with pytest.raises(InvalidJob, match="userName"):
        storage_paths(user_name=user, job_id="j", created=DAY)
    assert storage_problem({"userName": user}) is not None
    assert storage_problem({"userName": "alice", "dataPath": "d"}) is None


def test_a_jobs_day_is_its_creation_day() -> None:
    assert created_day("2026-11-27T21:28:25Z", DAY) == datetime.date(2026, 11, 27)
    assert created_day(None, DAY) == DAY


def test_the_crd_validates_every_path_with_the_same_rules() -> None:
    crd = yaml.safe_load(CRD.read_text())
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    for field in STORAGE_PATH_FIELDS:
        [rule] = props[field]["x-kubernetes-validations"]
        assert rule["rule"] == ("!self.contains('..') && !self.contains('\\\\.') && "
                                "!self.startsWith('/') && !self.startsWith('\\\\')")
        assert rule["message"].startswith(field)
