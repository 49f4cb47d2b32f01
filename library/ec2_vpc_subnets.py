#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_subnets
short_description: Create a VPC's subnets and keep their public-IP setting and tags, reading them all at once
version_added: 1.0.0
description:
  - Reads every subnet of the VPC with one C(DescribeSubnets) (tags included), compares each
    declared subnet (found by its CIDR) with its declaration, and writes only what differs
    (C(CreateSubnet), C(ModifySubnetAttribute), C(CreateTags), C(DeleteTags)).
  - It exists because M(amazon.aws.ec2_vpc_subnet) takes one subnet per call and reads it four
    times plus its tags (C(DescribeTags)) on every run, so a loop over four subnets is four module
    runs and about twenty requests when nothing changes.
  - An existing subnet keeps its zone (a subnet never moves; O(subnets[].az) is used on creation).
  - With O(known_subnets) (the VPC's subnets another module of the same run read, such as the
    C(subnets) the module C(ec2_subnet_zones) returns) it sends no read at all.
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no
    write. Returns one entry per subnet in RV(results), with its own C(changed) and C(diff).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  vpc_id:
    description: The VPC.
    type: str
    required: true
  subnets:
    description: The subnets the VPC must have.
    type: list
    elements: dict
    required: true
    suboptions:
      cidr: {description: The subnet's IPv4 CIDR block (what identifies it)., type: str, required: true}
      az: {description: The zone a new subnet is created in., type: str}
      map_public: {description: Whether instances launched in it get a public IPv4 address., type: bool, default: false}
      tags: {description: The subnet's tags., type: dict, default: {}}
  known_subnets:
    description:
      - Every subnet of O(vpc_id) as C(DescribeSubnets) answered earlier in the run, with nothing written
        to them since; used instead of reading them. Not given, the module reads them.
    type: list
    elements: dict
  purge_tags:
    description: Remove the tags a subnet has beyond O(subnets[].tags).
    type: bool
    default: true
  wait:
    description: Wait until a new subnet is available.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for a new subnet.
    type: int
    default: 300
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the subnets
  ec2_vpc_subnets:
    vpc_id: vpc-0123456789abcdef0
    subnets:
      - {cidr: 10.0.0.0/24, az: ap-northeast-1a, map_public: true, tags: {Name: mensetsu-dev-public-a}}
      - {cidr: 10.0.10.0/24, az: ap-northeast-1a, tags: {Name: mensetsu-dev-private-a}}
"""

RETURN = r"""
results:
  description: One entry per declared subnet, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    cidr: {description: The declared CIDR., type: str}
    action: {description: "V(created), V(updated) or V(unchanged).", type: str}
    changed: {description: "Whether the subnet was (or, in check mode, would be) written.", type: bool}
    subnet:
      description: The subnet (empty for one check mode would create).
      type: dict
      contains:
        id: {description: The subnet's id., type: str}
        subnet_arn: {description: The subnet's ARN., type: str}
        availability_zone: {description: Its zone., type: str}
        cidr_block: {description: Its CIDR., type: str}
        map_public_ip_on_launch: {description: Its public-IP setting., type: bool}
        tags: {description: Its tags., type: dict}
    diff: {description: "The settings that differ, before (actual) and after (declared).", type: dict}
  sample:
    - {cidr: 10.0.10.0/24, action: updated, changed: true,
       subnet: {id: subnet-0123456789abcdef0, availability_zone: ap-northeast-1a, cidr_block: 10.0.10.0/24,
                map_public_ip_on_launch: true, tags: {Name: mensetsu-dev-private-a},
                subnet_arn: "arn:aws:ec2:ap-northeast-1:123456789012:subnet/subnet-0123456789abcdef0"},
       diff: {before: {map_public: true}, after: {map_public: false}}}
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, WaiterError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import differences, vpc_subnets
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def subnet_view(subnet: dict[str, Any]) -> dict[str, Any]:
    """A DescribeSubnets / CreateSubnet Subnet as the module returns it."""
    return {
        "id": subnet["SubnetId"],
        "subnet_id": subnet["SubnetId"],
        "subnet_arn": subnet.get("SubnetArn"),
        "vpc_id": subnet.get("VpcId"),
        "availability_zone": subnet.get("AvailabilityZone"),
        "cidr_block": subnet.get("CidrBlock"),
        "map_public_ip_on_launch": bool(subnet.get("MapPublicIpOnLaunch", False)),
        "tags": {tag["Key"]: tag["Value"] for tag in subnet.get("Tags") or []},
    }


def declared_settings(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "map_public": bool(spec.get("map_public")),
        "tags": {str(key): str(value) for key, value in (spec.get("tags") or {}).items()},
    }


def actual_settings(view: dict[str, Any], declared: dict[str, Any], purge_tags: bool) -> dict[str, Any]:
    """The subnet's settings in the declaration's terms (without purge, only the declared tag keys count;
    AWS's own aws:* tags never do, as no caller can remove them)."""
    tags = {key: value for key, value in view["tags"].items() if purge_tags or key in declared["tags"]}
    tags = {key: value for key, value in tags.items() if not key.startswith("aws:") or key in declared["tags"]}
    return {"map_public": view["map_public_ip_on_launch"], "tags": tags}


def by_cidr(subnets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """DescribeSubnets' subnets by CIDR, as the module returns them."""
    return {subnet["CidrBlock"]: subnet_view(subnet) for subnet in subnets}


def read_subnets(module: Any, client: Any, vpc_id: str) -> dict[str, dict[str, Any]]:
    """The VPC's subnets by CIDR, tags included: one paginated DescribeSubnets."""
    try:
        return by_cidr(vpc_subnets(client, vpc_id))
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the subnets of {vpc_id}")
    return {}


def write_tags(client: Any, subnet_id: str, declared: dict[str, str], actual: dict[str, str], purge: bool) -> None:
    changed = {key: value for key, value in declared.items() if actual.get(key) != value}
    if changed:
        tags = [{"Key": key, "Value": value} for key, value in sorted(changed.items())]
        client.create_tags(aws_retry=True, Resources=[subnet_id], Tags=tags)
    extra = sorted(key for key in actual if key not in declared and not key.startswith("aws:")) if purge else []
    if extra:
        client.delete_tags(aws_retry=True, Resources=[subnet_id], Tags=[{"Key": key} for key in extra])


def create(module: Any, client: Any, spec: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"VpcId": module.params["vpc_id"], "CidrBlock": spec["cidr"]}
    if spec.get("az"):
        request["AvailabilityZone"] = spec["az"]
    if declared["tags"]:
        tags = [{"Key": key, "Value": value} for key, value in sorted(declared["tags"].items())]
        request["TagSpecifications"] = [{"ResourceType": "subnet", "Tags": tags}]
    subnet = client.create_subnet(aws_retry=True, **request)["Subnet"]
    if module.params["wait"]:
        delay = 5
        client.get_waiter("subnet_available").wait(
            SubnetIds=[subnet["SubnetId"]],
            WaiterConfig={"Delay": delay, "MaxAttempts": max(1, module.params["wait_timeout"] // delay)},
        )
    view = subnet_view(subnet)
    view["tags"] = dict(declared["tags"])
    if declared["map_public"]:
        client.modify_subnet_attribute(
            aws_retry=True, SubnetId=view["id"], MapPublicIpOnLaunch={"Value": declared["map_public"]}
        )
        view["map_public_ip_on_launch"] = declared["map_public"]
    return view


def update(module: Any, client: Any, view: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    if view["map_public_ip_on_launch"] != declared["map_public"]:
        client.modify_subnet_attribute(
            aws_retry=True, SubnetId=view["id"], MapPublicIpOnLaunch={"Value": declared["map_public"]}
        )
    write_tags(client, view["id"], declared["tags"], view["tags"], module.params["purge_tags"])
    tags = declared["tags"] if module.params["purge_tags"] else {**view["tags"], **declared["tags"]}
    return {**view, "map_public_ip_on_launch": declared["map_public"], "tags": dict(tags)}


def converge(module: Any, client: Any) -> dict[str, Any]:
    """Read once, then write only what differs; the module's result."""
    specs = module.params["subnets"]
    cidrs = [spec["cidr"] for spec in specs]
    duplicated = sorted({cidr for cidr in cidrs if cidrs.count(cidr) > 1})
    if duplicated:
        module.fail_json(msg=f"subnets declared more than once: {', '.join(duplicated)}")
    known = module.params.get("known_subnets")
    if known is None:
        existing = read_subnets(module, client, module.params["vpc_id"])
    else:
        existing = by_cidr([subnet for subnet in known if subnet.get("VpcId") == module.params["vpc_id"]])
    results = []
    for spec in specs:
        view = existing.get(spec["cidr"])
        declared = declared_settings(spec)
        diff = differences(declared, actual_settings(view, declared, module.params["purge_tags"]) if view else None)
        entry: dict[str, Any] = {"cidr": spec["cidr"], "changed": bool(diff)}
        entry["action"] = "unchanged" if not diff else "updated" if view else "created"
        if diff:
            entry["diff"] = diff
        if diff and not module.check_mode:
            try:
                view = update(module, client, view, declared) if view else create(module, client, spec, declared)
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg=f"Failed to {entry['action'][:-1]} the subnet {spec['cidr']}")
        entry["subnet"] = view or {}
        results.append(entry)
    changed = [entry for entry in results if entry["changed"]]
    return {
        "changed": bool(changed),
        "results": results,
        "diff": {
            "before": {entry["cidr"]: entry["diff"]["before"] for entry in changed},
            "after": {entry["cidr"]: entry["diff"]["after"] for entry in changed},
        },
    }


def main() -> None:
    subnet_options = dict(
        cidr=dict(type="str", required=True),
        az=dict(type="str"),
        map_public=dict(type="bool", default=False),
        tags=dict(type="dict", default={}),
    )
    argument_spec = dict(
        vpc_id=dict(type="str", required=True),
        subnets=dict(type="list", elements="dict", required=True, options=subnet_options),
        known_subnets=dict(type="list", elements="dict"),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
