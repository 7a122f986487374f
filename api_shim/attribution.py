"""Which job of a family is calling: the rules, as pure functions of what the request and
the shim's view of the jobs' Pods say (callers.py carries them out).

The document's samples send only the family token, which every job of a family shares,
so the token says which family calls and the request's source address says which member:
the one job whose live Pod has that address, as a cloud's metadata server tells Pods apart.
Whatever leaves that in doubt (an address of no such Pod, of a Pod of another family, of
two Pods at once) names no member, and the call nests under the family's root.
"""
from __future__ import annotations

import enum
import ipaddress
from collections.abc import Collection, Sequence
from typing import Final

from api_shim.records import PodRecord

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_FOR: Final = "X-Forwarded-For"


class Outcome(enum.Enum):
    """How SubmitJob found a new job's parent; the value is the metric's label."""
    MATCHED = "matched"              # the calling job, by its Pod's address
    PARENT_GIVEN = "parent_given"    # the request named parentJobId
    NO_POD = "no_pod"                # an address of no live job Pod: outside, SNAT, a proxy
    OTHER_FAMILY = "other_family"    # a Pod of another family holds this family's token
    AMBIGUOUS = "ambiguous"          # two live Pods claim the address (one of them stale)
    DYING = "dying"                  # the calling job is being killed, or already gone
    LOOKUP_OFF = "lookup_off"        # the shim was told not to look (--caller-lookup=false)


def parse_networks(text: str) -> tuple[Network, ...]:
    """A comma-separated list of addresses or CIDRs; ValueError names the bad one."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an address or a CIDR") from None
    return tuple(networks)


def parse_address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return address


def caller_address(peer: str | None, forwarded_for: Sequence[str],
                   trusted_proxies: Collection[Network]) -> Address | None:
    """The address the request came from. X-Forwarded-For counts only through proxies the
    cluster's operator named (trusted_proxies): from the right, each trusted hop names the
    one before it, and the first untrusted address is the caller. Anyone else can write
    that header, so it is never read otherwise. None: no address to go by."""
    address = parse_address(peer)
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    while address is not None and _within(address, trusted_proxies) and hops:
        address = parse_address(hops.pop())
    if address is not None and _within(address, trusted_proxies):
        return None  # only proxies all the way: no caller to tell
    return address


def _within(address: Address, networks: Collection[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def address_owner(pods: Collection[PodRecord]) -> PodRecord | Outcome:
    """The one Pod that can have sent a request from an address, given every job Pod the
    shim knows with that address; else why there is none."""
    live = [pod for pod in pods if pod.may_call]
    if not live:
        return Outcome.NO_POD
    if len(live) > 1:
        # An address freed and taken again while the older Pod's end is still on its way
        # to us: either could be calling, so neither is believed.
        return Outcome.AMBIGUOUS
    return live[0]


def may_wait(address: Address | None) -> bool:
    """Whether a request from this address could be a job's first one, sent before the
    kubelet reported its Pod's address: not one from this machine's loopback."""
    return address is not None and not address.is_loopback
