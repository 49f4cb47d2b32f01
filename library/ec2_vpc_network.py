#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_network
short_description: Create a VPC and keep its DNS settings and tags, in three reads
version_added: 1.0.0
description:
  - Finds the VPC by its C(Name) tag and IPv4 CIDR with one C(DescribeVpcs) (tags included), reads its two
    DNS attributes side by side (C(DescribeVpcAttribute) accepts one attribute per request), compares them
    with the declaration and writes only what differs (C(CreateVpc), C(ModifyVpcAttribute), C(CreateTags),
    C(DeleteTags)).
  - It exists because M(amazon.aws.ec2_vpc_net) reads the VPC about six times, each DNS attribute twice and
    its tags once on every run (waiters included), about eleven requests one after another when nothing
    changes.
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no write. The
    result has the shape of M(amazon.aws.ec2_vpc_net)'s (RV(vpc)) and C(drift_kind), so that the drift
    report names the VPC as AWS does.
  - Removal stays with M(amazon.aws.ec2_vpc_net) (C(state=absent)).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The VPC's C(Name) tag (with O(cidr_block), what identifies it).
    type: str
    required: true
  cidr_block:
    description: The VPC's IPv4 CIDR.
    type: str
    required: true
  dns_support:
    description: Whether the Amazon DNS server answers in the VPC.
    type: bool
    default: true
  dns_hostnames:
    description: Whether instances get public DNS hostnames.
    type: bool
    default: true
  tags:
    description: The VPC's tags besides C(Name), exactly (others are removed).
    type: dict
    default: {}
  wait_timeout:
    description: Seconds to wait for a new VPC to be available.
    type: int
    default: 300
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the VPC
  ec2_vpc_network:
    name: mensetsu-dev
    cidr_block: 10.0.0.0/16
    tags: {Project: mensetsu, Environment: dev}
"""

RETURN = r"""
vpc:
  description: The VPC after the task (in check mode, as it would be; no C(id) for one check mode would create).
  returned: always
  type: dict
  contains:
    id: {description: The VPC's id., type: str}
    name: {description: Its Name tag., type: str}
    cidr_block: {description: Its IPv4 CIDR., type: str}
    dns_support: {description: Its enableDnsSupport., type: bool}
    dns_hostnames: {description: Its enableDnsHostnames., type: bool}
    tags: {description: Its tags., type: dict}
drift_kind:
  description: The collection module whose resource kind it is (for the drift report).
  returned: always
  type: str
  sample: ec2_vpc_net
"""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import differences, ec2_tags, tag_specifications, write_ec2_tags
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

ATTRIBUTES = {"dns_support": "enableDnsSupport", "dns_hostnames": "enableDnsHostnames"}


# EC2 is eventually consistent: for a few seconds after a creation, AWS may answer a write or read
# that names the new VPC (its DNS attributes) with a NotFound error. Those answers are retried with backoff, as the
# amazon.aws modules do (they wait or retry on the same codes).
RETRY_CODES = ["InvalidVpcID.NotFound"]


def find(module: Any, client: Any) -> dict[str, Any] | None:
    filters = [
        {"Name": "tag:Name", "Values": [module.params["name"]]},
        {"Name": "cidr-block", "Values": [module.params["cidr_block"]]},
    ]
    found = client.describe_vpcs(aws_retry=True, Filters=filters)["Vpcs"]
    if len(found) > 1:
        module.fail_json(msg=f"{len(found)} VPCs are named {module.params['name']} with {module.params['cidr_block']}")
    return found[0] if found else None


def attributes(client: Any, vpc_id: str) -> dict[str, bool]:
    """Both DNS attributes, the two requests in flight together."""

    def one(attribute: str) -> bool:
        answer = client.describe_vpc_attribute(aws_retry=True, VpcId=vpc_id, Attribute=attribute)
        return bool(answer[attribute[0].upper() + attribute[1:]]["Value"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        values = list(pool.map(one, ATTRIBUTES.values()))
    return {key: values[number] for number, key in enumerate(ATTRIBUTES)}


def create(module: Any, client: Any, tags: dict[str, str]) -> str:
    vpc_id = client.create_vpc(
        aws_retry=True,
        CidrBlock=module.params["cidr_block"],
        TagSpecifications=tag_specifications("vpc", tags),
    )["Vpc"]["VpcId"]
    deadline = time.monotonic() + module.params["wait_timeout"]
    while True:
        found = client.describe_vpcs(aws_retry=True, VpcIds=[vpc_id])["Vpcs"]
        if found and found[0].get("State") == "available":
            return vpc_id
        if time.monotonic() > deadline:
            module.fail_json(msg=f"the VPC {vpc_id} is not available after the wait_timeout")
        time.sleep(5)


def write(client: Any, vpc_id: str, declared: dict[str, Any], actual: dict[str, Any]) -> None:
    for key, attribute in ATTRIBUTES.items():
        if actual[key] != declared[key]:  # one attribute per request (EC2 API)
            client.modify_vpc_attribute(
                aws_retry=True, VpcId=vpc_id, **{attribute[0].upper() + attribute[1:]: {"Value": declared[key]}}
            )
    write_ec2_tags(client, vpc_id, declared["tags"], actual["tags"])


def converge(module: Any, client: Any) -> dict[str, Any]:
    params = module.params
    tags = {**{str(k): str(v) for k, v in (params["tags"] or {}).items()}, "Name": params["name"]}
    declared = {"dns_support": params["dns_support"], "dns_hostnames": params["dns_hostnames"], "tags": tags}
    try:
        found = find(module, client)
        vpc_id = found["VpcId"] if found else ""
        actual = {**attributes(client, vpc_id), "tags": ec2_tags(found)} if found else None
        diff = differences(declared, actual)
        if diff and not module.check_mode:
            if not found:
                vpc_id = create(module, client, tags)
                # A new VPC: DNS support on, hostnames off (EC2 defaults), the tags it was created with.
                actual = {"dns_support": True, "dns_hostnames": False, "tags": tags}
            write(client, vpc_id, declared, actual)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to converge the VPC {params['name']}")
    after = declared if (diff and not module.check_mode) or not actual else actual
    vpc = {"name": params["name"], "cidr_block": params["cidr_block"], **after}
    if vpc_id:
        vpc.update(id=vpc_id, vpc_id=vpc_id)
    result: dict[str, Any] = {"changed": bool(diff), "vpc": vpc, "drift_kind": "ec2_vpc_net"}
    if diff:
        result["diff"] = diff
    return result


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        cidr_block=dict(type="str", required=True),
        dns_support=dict(type="bool", default=True),
        dns_hostnames=dict(type="bool", default=True),
        tags=dict(type="dict", default={}),
        wait_timeout=dict(type="int", default=300),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=RETRY_CODES))
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
