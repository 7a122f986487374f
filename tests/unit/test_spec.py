"""SubmitJob parameters → DLWSJob spec, and the CRD enforcing the same bounds."""
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from dlws_contract import spec as specs
from dlws_contract.spec import InvalidJob, spec_from_parameters

SEED = {"resourcegpu": "0", "jobName": "tensorflow-ipython-cpu", "dataPath": "imagenet",
        "image": "tensorflow/tensorflow:latest",
        "cmd": "export HOME=/job && jupyter notebook --no-browser --port=8888 --ip=0.0.0.0 --notebook-dir=/",
        "interactivePort": "8888", "jobType": "training", "jobtrainingtype": "RegularJob",
        "runningasroot": "0", "familyToken": "x" * 32}
CRD = yaml.safe_load((Path(__file__).parents[2] / "crds" / "dlwsjob.yaml").read_text())


def crd_spec() -> dict[str, Any]:
    schema = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return dict(schema["properties"]["spec"]["properties"])


def test_the_seed_documents_parameters_make_a_spec() -> None:
    spec = spec_from_parameters(SEED)
    assert spec["resourcegpu"] == 0 and spec["interactivePorts"] == [8888]
    assert spec["runningasroot"] is False and spec["jobtrainingtype"] == "RegularJob"
    assert "familyToken" not in spec and "userName" not in spec


@pytest.mark.parametrize("missing, message", [
    ("jobName", "job name cannot be empty"), ("resourcegpu", "Number of GPU cannot be empty"),
    ("dataPath", "datapath cannot be empty"), ("image", "docker image cannot be empty"),
    ("jobType", "jobType cannot be empty")])
def test_missing_required_parameters_get_dlws_messages(missing: str, message: str) -> None:
    with pytest.raises(InvalidJob, match=message):
        spec_from_parameters({k: v for k, v in SEED.items() if k != missing})


@pytest.mark.parametrize("key, value, message", [
    ("resourcegpu", "two", "resourcegpu must be a whole number"),
    ("resourcegpu", "-1", "between 0 and 64"),
    ("resourcegpu", "9" * 40, "whole number"),
    ("resourcegpu", True, "whole number"),
    ("interactivePort", "8888;99999", "between 1 and 65535"),
    ("interactivePort", "80,80", "twice"),
    ("runningasroot", "maybe", "0 or 1"),
    ("jobtrainingtype", "MPIDistJob", "MPIDistJob is not supported"),
    ("jobtrainingtype", "Quantum", "unknown jobtrainingtype"),
    ("numps", "2", "numps applies only to jobtrainingtype PSDistJob"),
    ("nummpiworker", "2", "nummpiworker applies only to MPIDistJob"),
    ("jobName", "x" * 300, "too long"),
    ("env", "{not json", "JSON object"),
    ("env", '{"FAMILY_TOKEN": "x"}', "reserved"),
    ("env", '{"DLWS_JOB_ID": "x"}', "reserved"),
    ("env", '{"A-B": "x"}', "not a valid variable name"),
    ("bogus", "1", "unknown parameter"),
    ("image", 5, "must be a string"),
])
def test_bad_values_are_refused_with_clear_messages(key: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidJob, match=message):
        spec_from_parameters({**SEED, key: value})


DIST = {**SEED, "jobtrainingtype": "PSDistJob", "numps": "1", "numpsworker": "2"}


def test_a_ps_dist_job_keeps_its_counts() -> None:
    spec = spec_from_parameters(DIST)
    assert (spec["jobtrainingtype"], spec["numps"], spec["numpsworker"]) == ("PSDistJob", 1, 2)
    assert "numps" not in spec_from_parameters({**SEED, "numps": "0", "numpsworker": "0"})


@pytest.mark.parametrize("changes, message", [
    ({"numps": "0"}, "numps must be between 1 and 1000, not 0"),
    ({"numpsworker": "-2"}, "numpsworker must be between 1 and 1000, not -2"),
    ({"numpsworker": "1.5"}, "numpsworker must be a whole number"),
    ({"numps": "two"}, "numps must be a whole number"),
    ({"numps": ""}, "numps is required for a PSDistJob"),
    ({"numpsworker": "64"}, r"numps \+ numpsworker is 65 Pods, above this cluster's bound of 64 Pods per job"),
    ({"env": '{"RANK": "3"}'}, "'RANK' is reserved in a PSDistJob"),
])
def test_bad_counts_of_a_ps_dist_job_are_refused_naming_the_parameter(changes: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidJob, match=message):
        spec_from_parameters({**DIST, **changes})


def test_the_cluster_bound_of_pods_per_job_is_a_setting() -> None:
    assert spec_from_parameters({**DIST, "numpsworker": "99"}, max_pods=100)["numpsworker"] == 99
    with pytest.raises(InvalidJob, match="bound of 2 Pods"):
        spec_from_parameters(DIST, max_pods=2)


def test_interactive_ports_split_like_dlws() -> None:
    assert spec_from_parameters({**SEED, "interactivePort": "8888, 6006;22"})["interactivePorts"] == [8888, 6006, 22]


def test_json_values_are_accepted() -> None:
    spec = spec_from_parameters({**SEED, "resourcegpu": 2, "runningasroot": True,
                                 "interactivePort": [1, 2], "env": {"A": "b"}})
    assert (spec["resourcegpu"], spec["runningasroot"], spec["interactivePorts"], spec["env"]) == (2, True, [1, 2], {"A": "b"})


def test_user_parameters_are_ignored_not_trusted() -> None:
    spec = spec_from_parameters({**SEED, "userName": "root", "userId": "0"})
    assert "userName" not in spec and "userId" not in spec


def test_vc_name_is_kept_and_checked() -> None:
    assert spec_from_parameters({**SEED, "vcName": " platform "})["vcName"] == "platform"
    with pytest.raises(InvalidJob, match="^vcName must be a virtual cluster's name"):
        spec_from_parameters({**SEED, "vcName": "a b"})
    props = crd_spec()
    assert (props["vcName"]["pattern"], props["vcName"]["maxLength"]) == (specs.VC_NAME_PATTERN, specs.MAX_VC_NAME)
    assert props["gid"]["maximum"] == specs.MAX_USER_ID


def test_crd_bounds_match_the_contract() -> None:
    props = crd_spec()
    assert props["jobName"]["maxLength"] == specs.MAX_JOB_NAME
    assert props["image"]["maxLength"] == specs.MAX_IMAGE
    assert props["cmd"]["maxLength"] == specs.MAX_CMD
    assert props["dataPath"]["maxLength"] == specs.MAX_PATH
    assert props["jobType"]["maxLength"] == specs.MAX_JOB_TYPE
    assert props["resourcegpu"]["maximum"] == specs.MAX_GPUS
    assert props["userId"]["maximum"] == specs.MAX_USER_ID
    assert props["interactivePorts"]["maxItems"] == specs.MAX_PORTS
    assert props["env"]["maxProperties"] == specs.MAX_ENV
    assert props["env"]["additionalProperties"]["maxLength"] == specs.MAX_ENV_VALUE
    assert set(props) >= set(specs.JobSpec.__annotations__)


def crd_type(prop: dict[str, Any]) -> Any:
    """The Python type of a CRD property's schema."""
    kind = prop["type"]
    if kind == "array":
        return list[crd_type(prop["items"])]  # type: ignore[misc]
    if kind == "object":
        return dict[str, crd_type(prop["additionalProperties"])]  # type: ignore[misc]
    return {"string": str, "integer": int, "boolean": bool}[kind]


def test_job_spec_types_are_the_crds() -> None:
    """What lets job_spec read a DLWSJob's spec as a JobSpec without checking it."""
    props = crd_spec()
    hints = typing.get_type_hints(specs.JobSpec)
    assert {name: crd_type(props[name]) for name in hints} == hints
    schema = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert set(schema["required"]) == specs.JobSpec.__required_keys__


def test_job_spec_keeps_the_fields_jobspec_names() -> None:
    raw = {"jobName": "n", "image": "i", "jobType": "t", "env": {"A": "1"}, "unknown": "x"}
    assert specs.job_spec(raw) == {"jobName": "n", "image": "i", "jobType": "t", "env": {"A": "1"}}


def test_crd_resources_match_the_contract() -> None:
    from dlws_contract import quantity
    props = crd_spec()
    for name in specs.RESOURCE_FIELDS:
        assert props[name]["pattern"] == quantity.QUANTITY_PATTERN
        assert props[name]["maxLength"] == quantity.MAX_LENGTH
        [rule] = props[name]["x-kubernetes-validations"]
        top = specs.MAX_CPU if name in specs.CPU_FIELDS else specs.MAX_MEMORY
        assert f"quantity('{top}')" in rule["rule"] and "quantity('0')" in rule["rule"]
    assert props["gpuType"]["pattern"] == specs.GPU_TYPE_PATTERN
    assert props["gpuType"]["maxLength"] == specs.MAX_GPU_TYPE
    assert props["preemptionAllowed"] == props["preemptionAllowed"] | {"type": "boolean", "default": False}
    schema = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    rules = " ".join(r["rule"] for r in schema["x-kubernetes-validations"])
    for request, limit in (specs.CPU_FIELDS, specs.MEMORY_FIELDS):
        assert f"quantity(self.{request}).compareTo(quantity(self.{limit})) <= 0" in rules


def test_crd_names_match_the_contract() -> None:
    from dlws_contract import resource
    assert CRD["metadata"]["name"] == resource.CRD_NAME
    assert CRD["spec"]["group"] == resource.GROUP
    assert CRD["spec"]["names"]["kind"] == resource.KIND
    assert CRD["spec"]["versions"][0]["name"] == resource.VERSION


def test_crd_schema_properties_use_only_schema_keywords() -> None:
    allowed = {"type", "minLength", "maxLength", "default", "description", "minimum", "maximum",
               "items", "maxItems", "x-kubernetes-list-type", "x-kubernetes-validations",
               "additionalProperties", "maxProperties", "pattern"}
    for name, prop in crd_spec().items():
        assert set(prop) <= allowed, f"{name}: {set(prop) - allowed}"
