#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_subnet_zones
short_description: Choose the availability zones of a VPC's subnets, where the instance types are offered
version_added: 1.0.0
description:
  - Reads the region's available zones, the zones that offer every one of O(instance_types)
    (C(DescribeInstanceTypeOfferings) by availability zone) and the subnets the VPC already has,
    and says in which zone each subnet of O(subnet_groups) belongs. It changes nothing.
  - A subnet that exists keeps its zone (a subnet never moves; its group follows it). A group
    without an existing subnet gets the first zone, in name order, that offers every instance
    type and no other group has. The names of the zones differ between accounts, and some
    accounts see a zone without, for example, t3 or t4g.
  - Fails, naming the instance types, when fewer zones offer them than there are groups to place.
    Warns when an existing subnet's zone does not offer one of them.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  vpc_id:
    description:
      - The VPC whose subnets keep their zones. Empty (or a VPC that does not exist yet) means no subnet exists.
    type: str
    default: ""
  subnet_groups:
    description:
      - The subnets as groups of CIDRs; the subnets of one group share a zone, and each group gets another zone.
    type: list
    elements: list
    required: true
  instance_types:
    description:
      - The EC2 instance types that must be offered in a chosen zone.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Choose two zones that offer t3.medium, keeping the zones of existing subnets
  ec2_subnet_zones:
    vpc_id: vpc-0123456789abcdef0
    subnet_groups: [[10.30.0.0/24, 10.30.10.0/24], [10.30.1.0/24, 10.30.11.0/24]]
    instance_types: [t3.medium]
  register: zones
"""

RETURN = r"""
zones:
  description: The zone of each group, in the order of O(subnet_groups).
  returned: always
  type: list
  elements: str
  sample: [ap-northeast-1c, ap-northeast-1d]
zones_by_cidr:
  description: The zone of every subnet CIDR.
  returned: always
  type: dict
  sample: {"10.30.0.0/24": ap-northeast-1c, "10.30.10.0/24": ap-northeast-1c}
existing:
  description: The zones of the subnets that exist already, by CIDR.
  returned: always
  type: dict
offering_zones:
  description: The available zones that offer every instance type.
  returned: always
  type: list
  elements: str
subnets:
  description:
    - Every subnet of the VPC as C(DescribeSubnets) answered (tags included); the module C(ec2_vpc_subnets)
      takes them as its C(known_subnets) instead of reading them again.
  returned: always
  type: list
  elements: dict
"""

from typing import Any

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import vpc_subnets
from ansible.module_utils.parallel_reads import aws_read, read_in_parallel
from ansible.module_utils.task_warnings import warn
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


class NotEnoughZones(Exception):
    pass


def offering_zones(available: list[str], offerings: list[dict[str, Any]], instance_types: list[str]) -> list[str]:
    """The available zones, in name order, that offer every instance type (offerings: AWS's answer)."""
    zones = set(available)
    for instance_type in instance_types:
        zones &= {item["Location"] for item in offerings if item["InstanceType"] == instance_type}
    return sorted(zones)


def choose_zones(
    available: list[str],
    offerings: list[dict[str, Any]],
    instance_types: list[str],
    existing: dict[str, str],
    subnet_groups: list[list[str]],
) -> tuple[list[str], list[str]]:
    """The zone of each group and warnings; existing subnets keep their zones."""
    offered = offering_zones(available, offerings, instance_types)
    zones: list[str | None] = [
        next((existing[cidr] for cidr in group if cidr in existing), None) for group in subnet_groups
    ]
    free = [zone for zone in offered if zone not in zones]
    missing = [index for index, zone in enumerate(zones) if zone is None]
    if len(free) < len(missing):
        raise NotEnoughZones(
            f"{len(missing)} more zone(s) needed that offer {', '.join(instance_types)}; "
            f"offered in {', '.join(offered) or 'no zone'} of {', '.join(sorted(available))}"
            + (f", and {', '.join(zone for zone in zones if zone)} already hold subnets" if any(zones) else "")
        )
    for index, zone in zip(missing, free, strict=False):
        zones[index] = zone
    warnings = [
        f"subnet {cidr} is in {zone}, which does not offer {', '.join(instance_types)}; it stays (a subnet never moves)"
        for cidr, zone in sorted(existing.items())
        if instance_types and zone not in offered
    ]
    return [zone for zone in zones if zone], warnings


def read_account(
    module: AWSModule, client: Any
) -> tuple[list[str], list[dict[str, Any]], dict[str, str], list[dict[str, Any]]]:
    """The zones, the offerings and the VPC's subnets: three reads side by side (none needs another)."""
    params = module.params

    def offerings() -> list[dict[str, Any]]:
        paginator = client.get_paginator("describe_instance_type_offerings")
        pages = paginator.paginate(
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": params["instance_types"]}],
        )
        return [offering for page in pages for offering in page.get("InstanceTypeOfferings", [])]

    reads = {
        "zones": aws_read(
            module,
            "the availability zones",
            lambda: client.describe_availability_zones(
                Filters=[
                    {"Name": "state", "Values": ["available"]},
                    {"Name": "zone-type", "Values": ["availability-zone"]},
                ],
                aws_retry=True,
            )["AvailabilityZones"],
        )
    }
    if params["instance_types"]:
        reads["offerings"] = aws_read(module, "the instance type offerings", offerings)
    if params["vpc_id"]:
        reads["subnets"] = aws_read(module, "the subnets", lambda: vpc_subnets(client, params["vpc_id"]))
    found = read_in_parallel(module, reads)
    zones, subnets = found["zones"], found.get("subnets", [])
    wanted = {cidr for group in params["subnet_groups"] for cidr in group}
    existing = {subnet["CidrBlock"]: subnet["AvailabilityZone"] for subnet in subnets if subnet["CidrBlock"] in wanted}
    return [zone["ZoneName"] for zone in zones], found.get("offerings", []), existing, subnets


def main() -> None:
    argument_spec = dict(
        vpc_id=dict(type="str", default=""),
        subnet_groups=dict(type="list", elements="list", required=True),
        instance_types=dict(type="list", elements="str", default=[]),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff(retries=10))
    groups = [[str(cidr) for cidr in group] for group in module.params["subnet_groups"]]
    available, offerings, existing, subnets = read_account(module, client)
    try:
        zones, warnings = choose_zones(available, offerings, module.params["instance_types"], existing, groups)
    except NotEnoughZones as e:
        module.fail_json(msg=f"instance_types: {e}", existing=existing)
    for warning in warnings:
        warn(module, warning)
    zones_by_cidr = {
        cidr: existing.get(cidr, zone) for group, zone in zip(groups, zones, strict=True) for cidr in group
    }
    module.exit_json(
        changed=False,
        zones=zones,
        zones_by_cidr=zones_by_cidr,
        existing=existing,
        offering_zones=offering_zones(available, offerings, module.params["instance_types"]),
        subnets=subnets,
    )


if __name__ == "__main__":
    main()
