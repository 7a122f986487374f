"""dlws_contract.kube_api's pure parts: paths, owner references, timestamps, session options."""
import datetime

from dlws_contract import kube_api, resource


def test_paths() -> None:
    assert kube_api.core_path("ns", "pods") == "/api/v1/namespaces/ns/pods"
    assert kube_api.core_path("ns", "secrets", "s") == "/api/v1/namespaces/ns/secrets/s"
    assert kube_api.job_path("ns", "j") == f"/apis/{resource.GROUP}/{resource.VERSION}/namespaces/ns/dlwsjobs/j"
    assert kube_api.job_path(None) == f"/apis/{resource.GROUP}/{resource.VERSION}/dlwsjobs"


def test_an_owner_reference_blocks_the_owners_foreground_deletion() -> None:
    job = {"metadata": {"name": "a", "uid": "u-1"}}
    assert kube_api.owner_reference(job) == {
        "apiVersion": resource.API_VERSION, "kind": resource.KIND, "name": "a", "uid": "u-1",
        "controller": True, "blockOwnerDeletion": True}
    cm = kube_api.owner_reference(job, api_version="v1", kind="ConfigMap", controller=False)
    assert (cm["apiVersion"], cm["kind"], cm["controller"]) == ("v1", "ConfigMap", False)


def test_timestamps_round_trip_in_utc_seconds() -> None:
    when = datetime.datetime(2026, 12, 1, 5, 12, 52, 999, tzinfo=datetime.timezone.utc)
    assert kube_api.timestamp(when) == "2026-12-01T05:12:52Z"
    assert kube_api.parse_timestamp("2026-12-01T05:12:52Z") == when.replace(microsecond=0)
    assert kube_api.timestamp().endswith("Z")


def test_no_environment_lookups_without_a_proxy() -> None:
    assert kube_api.client_session_kwargs({"HOME": "/root", "NO_PROXY": "10.0.0.0/8"}) == {"trust_env": False}


def test_a_proxy_from_the_environment_is_still_honoured() -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY"):
        assert kube_api.client_session_kwargs({name: "http://proxy:3128"}) == {"trust_env": True}
    assert kube_api.client_session_kwargs({"HTTPS_PROXY": ""}) == {"trust_env": False}
