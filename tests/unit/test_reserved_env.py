"""The environment variables a job may not set are defined once (dlws_contract.spec): the
operator sets only reserved ones, the shim refuses them, and the CRD's rule (YAML, which
the API server enforces on jobs applied without the shim) and the OpenAPI document say
the same."""
from pathlib import Path

import pytest
import yaml

from api_shim import openapi
from dlws_contract import spec
from dlws_operator.pod_spec import LOGIN_ENV, build_pod
from tests.unit.test_pod_spec import job

CRD = yaml.safe_load((Path(__file__).parents[2] / "crds" / "dlwsjob.yaml").read_text())


def crd_env_rules() -> list[dict[str, str]]:
    schema = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return list(schema["properties"]["spec"]["properties"]["env"]["x-kubernetes-validations"])


def test_the_crds_rule_reserves_the_contracts_names_and_prefix() -> None:
    expected = "self.all(k, " + " && ".join(
        [f"!k.startsWith('{spec.RESERVED_ENV_PREFIX}')"] + [f"k != '{name}'" for name in spec.RESERVED_ENV_NAMES]) + ")"
    [rule] = [r for r in crd_env_rules() if "startsWith" in r["rule"]]
    assert rule["rule"] == expected
    assert spec.RESERVED_ENV_TEXT in rule["message"]


def test_the_openapi_document_names_the_reserved_variables() -> None:
    params = {p["name"]: p for p in openapi.document()["paths"]["/child/SubmitJob"]["get"]["parameters"]}
    assert f"{spec.RESERVED_ENV_TEXT} are reserved" in params["env"]["schema"]["description"]


@pytest.mark.parametrize("name", [*spec.RESERVED_ENV_NAMES, "DLWS_JOB_ID", "DLWS_ANYTHING"])
def test_the_shim_refuses_every_reserved_name(name: str) -> None:
    with pytest.raises(spec.InvalidJob, match="reserved"):
        spec.parse_env({name: "x"})


def test_every_variable_the_operator_sets_is_reserved_but_the_login_defaults() -> None:
    pod = build_pod(job("j", dataPath="d", workPath="w", jobPath="p", logDir="l", env={"MINE": "1"}))
    names = [e["name"] for e in pod["spec"]["containers"][0]["env"]]
    # HOME, USER and LOGNAME are defaults a job's env may override (it comes last).
    assert [n for n in names if not spec.reserved_env_name(n)] == [*LOGIN_ENV, "MINE"]
    assert set(spec.RESERVED_ENV_NAMES) <= set(names)
