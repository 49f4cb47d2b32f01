"""Filters for the roles' network rules (Python's ipaddress, no extra dependency)."""

from __future__ import annotations

import ipaddress
from itertools import combinations


def cidr_overlaps(cidrs: list[str]) -> list[str]:
    """Return 'a overlaps b' for every pair of the given CIDRs that share addresses."""
    networks = [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]
    return [
        f"{first} overlaps {second}"
        for first, second in combinations(networks, 2)
        if first.version == second.version and first.overlaps(second)
    ]


def cidrs_outside(cidrs: list[str], parent: str) -> list[str]:
    """Return the CIDRs that do not lie entirely inside `parent`."""
    outer = ipaddress.ip_network(parent, strict=False)
    return [
        cidr
        for cidr in cidrs
        if (inner := ipaddress.ip_network(cidr, strict=False)).version != outer.version or not inner.subnet_of(outer)
    ]


def cidr_facts(value: object) -> dict:
    """What the roles' rules need to know of a CIDR: valid (an address and a prefix, host bits
    allowed), network (no host bits), version (4 or 6), prefix. Python's ipaddress: far cheaper
    than ansible.utils' netaddr filters, which preflight would call dozens of times per run."""
    text = str(value).strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return {"valid": False, "network": False, "version": 0, "prefix": -1}
    return {
        "valid": "/" in text,
        "network": "/" in text and str(network) == text,
        "version": network.version,
        "prefix": network.prefixlen,
    }


class FilterModule:
    def filters(self) -> dict:
        return {"cidr_overlaps": cidr_overlaps, "cidrs_outside": cidrs_outside, "cidr_facts": cidr_facts}
