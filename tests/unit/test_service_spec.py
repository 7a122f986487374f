"""The Service of a job with interactivePorts (service_spec.build_service) and its names
(dlws_contract.endpoints)."""
from __future__ import annotations

import re

from dlws_contract import endpoints, resource
from dlws_operator.service_spec import build_service, node_ports_of

JOB = {"metadata": {"name": "0b7e5f0e-3f64-4c8e-9a4e-0c0f2b0f8f13", "namespace": "team", "uid": "u1"},
       "spec": {"interactivePorts": [8888, 6006]}}
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def test_a_job_without_ports_gets_no_service() -> None:
    assert build_service({**JOB, "spec": {}}, node_ports=False) is None


def test_the_service_is_headless_owned_by_the_job_and_selects_its_pod() -> None:
    svc = build_service(JOB, node_ports=False)
    assert svc is not None
    assert svc["metadata"]["name"] == "job-0b7e5f0e-3f64-4c8e-9a4e-0c0f2b0f8f13"
    assert svc["metadata"]["ownerReferences"][0]["uid"] == "u1"
    assert svc["spec"]["clusterIP"] == "None" and "type" not in svc["spec"]
    assert svc["spec"]["selector"] == {resource.LABEL_JOB: JOB["metadata"]["name"]}
    assert [(p["name"], p["port"]) for p in svc["spec"]["ports"]] == [("port-6006", 6006), ("port-8888", 8888)]


def test_node_ports_make_a_node_port_service_whose_ports_the_status_gets() -> None:
    svc = build_service(JOB, node_ports=True)
    assert svc is not None and svc["spec"]["type"] == "NodePort" and "clusterIP" not in svc["spec"]
    made = {"spec": {"ports": [{"port": 8888, "nodePort": 30001}, {"port": 6006, "nodePort": 30002}]}}
    assert node_ports_of(made) == [{"port": 8888, "nodePort": 30001}, {"port": 6006, "nodePort": 30002}]


def test_service_names_are_dns_labels_for_every_job_name() -> None:
    for job in ("a", "0" * 59, "9" + "x" * 62, "a-" * 31 + "b"):
        name = endpoints.service_name(job)
        assert DNS_1035.fullmatch(name) and len(name) <= 63, name
    assert endpoints.service_name("9" + "x" * 62) != endpoints.service_name("9" + "x" * 61 + "y")
