"""Which job of a family calls: the pure rules (attribution.py)."""
import ipaddress
from dataclasses import replace

import pytest

from api_shim.attribution import Outcome, address_owner, caller_address, may_wait, parse_networks
from api_shim.records import PodRecord, pod_record_from_object
from dlws_contract import resource

PROXY = parse_networks("10.0.0.0/24, 192.168.1.7")
POD = PodRecord(namespace="ns", name="j1", job="j1", owner_uid="u1", family="f", ips=("10.88.0.5",),
                scheduled=True, terminal=False, host_network=False, deleting=False)


def test_the_peer_is_the_caller_and_a_forwarded_for_header_is_not_believed_from_anyone_else() -> None:
    assert caller_address("10.88.0.5", ["1.2.3.4"], PROXY) == ipaddress.ip_address("10.88.0.5")
    assert caller_address("10.88.0.5", ["1.2.3.4"], ()) == ipaddress.ip_address("10.88.0.5")


def test_through_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_caller() -> None:
    assert caller_address("10.0.0.9", ["6.6.6.6, 10.88.0.5"], PROXY) == ipaddress.ip_address("10.88.0.5")
    # the caller wrote 6.6.6.6 itself; two trusted hops each appended the one before
    assert caller_address("10.0.0.9", ["6.6.6.6, 10.88.0.5", "192.168.1.7"], PROXY) \
        == ipaddress.ip_address("10.88.0.5")


def test_proxies_all_the_way_or_garbage_name_no_caller() -> None:
    assert caller_address("10.0.0.9", [], PROXY) is None
    assert caller_address("10.0.0.9", ["10.0.0.3"], PROXY) is None
    assert caller_address("10.0.0.9", ["not-an-address"], PROXY) is None
    assert caller_address(None, [], ()) is None


def test_a_dual_stack_socket_s_ipv4_peer_is_its_ipv4_address() -> None:
    assert caller_address("::ffff:10.88.0.5", [], ()) == ipaddress.ip_address("10.88.0.5")


def test_trusted_proxies_must_be_addresses_or_cidrs() -> None:
    with pytest.raises(ValueError, match="'10.0.0.300' is not an address"):
        parse_networks("10.0.0.0/8,10.0.0.300")


def test_an_address_of_one_live_pod_names_it() -> None:
    assert address_owner([POD]) is POD
    assert address_owner([POD, replace(POD, name="old", terminal=True)]) is POD
    # being deleted, its processes still run through their grace period
    assert address_owner([replace(POD, deleting=True)]) == replace(POD, deleting=True)


def test_an_address_of_no_live_pod_or_of_a_node_names_none() -> None:
    assert address_owner([]) is Outcome.NO_POD
    assert address_owner([replace(POD, terminal=True)]) is Outcome.NO_POD
    assert address_owner([replace(POD, host_network=True)]) is Outcome.NO_POD


def test_an_address_two_live_pods_claim_names_neither() -> None:
    assert address_owner([POD, replace(POD, name="other")]) is Outcome.AMBIGUOUS


def test_only_a_request_from_beyond_loopback_may_wait_for_a_starting_pod() -> None:
    assert may_wait(ipaddress.ip_address("10.88.0.5"))
    assert not may_wait(ipaddress.ip_address("127.0.0.1")) and not may_wait(None)


def test_a_pod_record_reads_its_job_owner_family_and_addresses() -> None:
    pod = pod_record_from_object({
        "metadata": {"name": "j1", "namespace": "ns", "labels": {resource.LABEL_JOB: "j1", resource.LABEL_FAMILY: "f"},
                     "ownerReferences": [{"kind": "ReplicaSet", "uid": "x", "controller": False},
                                         {"kind": resource.KIND, "uid": "u1", "controller": True}]},
        "spec": {"nodeName": "n1"},
        "status": {"phase": "Running", "podIP": "10.88.0.5", "podIPs": [{"ip": "10.88.0.5"}, {"ip": "fd00::5"}]}})
    assert pod == replace(POD, ips=("10.88.0.5", "fd00::5"))
    starting = pod_record_from_object({"metadata": {"name": "j2", "namespace": "ns"}, "spec": {"nodeName": "n1"},
                                       "status": {"phase": "Pending"}})
    assert starting.starting and not starting.may_call
    assert not replace(starting, scheduled=False).starting
