#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: route53_public_zone
short_description: A public Route 53 hosted zone with its comment, tags and name servers, read at once
version_added: 1.0.0
description:
  - Finds the public hosted zone of a domain with one C(ListHostedZonesByName), then reads its name
    servers (C(GetHostedZone)) and its tags (C(ListTagsForResource)) side by side, compares the comment
    and the tags with the declaration and writes only what differs (C(CreateHostedZone),
    C(UpdateHostedZoneComment), C(ChangeTagsForResource)).
  - It exists because M(amazon.aws.route53_zone) sends six requests one after another on a run that
    changes nothing (the zone, its DNSSEC status twice, its tags twice) and does not return the name
    servers, which the roles need to check the zone's delegation (a seventh request, through
    M(amazon.aws.route53_info)).
  - Two public zones with the domain's name (Route 53 allows it) stop the module with their ids. Which
    one the domain is delegated to is the operator's choice (give it as the role's C(hosted_zone_id)).
  - Tags are exactly the declared ones. The comment is compared when given. Check mode sends no write.
  - Removal stays with M(amazon.aws.route53_zone) (C(state=absent)).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  zone:
    description: The domain (with or without the final dot).
    type: str
    required: true
  comment:
    description: The zone's comment; not compared when not given.
    type: str
  tags:
    description: The zone's tags.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the public hosted zone
  route53_public_zone:
    zone: dev.mensetsu.example.com
    comment: dev.mensetsu.example.com (managed by ansible)
    tags: {Project: mensetsu, Environment: dev}
  register: zone
"""

RETURN = r"""
zone_id:
  description: The zone's id, without the C(/hostedzone/) prefix (empty for one check mode would create).
  returned: always
  type: str
  sample: Z0123456789ABCDEFGHIJ
name:
  description: The zone's name, with the final dot.
  returned: always
  type: str
  sample: dev.mensetsu.example.com.
comment:
  description: The zone's comment.
  returned: always
  type: str
private_zone:
  description: Always false (a public zone).
  returned: always
  type: bool
name_servers:
  description: The zone's four name servers (its delegation set; empty for one check mode would create).
  returned: always
  type: list
  elements: str
tags:
  description: The zone's tags.
  returned: always
  type: dict
"""

import uuid
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import differences
from ansible.module_utils.parallel_reads import aws_read, read_in_parallel
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def short_id(zone_id: str) -> str:
    return zone_id.rsplit("/", 1)[-1]


def public_zones(client: Any, name: str) -> list[dict[str, Any]]:
    """The public zones named `name` (with its final dot): ListHostedZonesByName starts at the name,
    in Route 53's order, so the zones of that name come first; a page cut among them is followed."""
    found, request = [], {"DNSName": name, "MaxItems": "100"}
    while True:
        page = client.list_hosted_zones_by_name(aws_retry=True, **request)
        zones = page.get("HostedZones") or []
        found += [zone for zone in zones if zone["Name"] == name and not (zone.get("Config") or {}).get("PrivateZone")]
        if not page.get("IsTruncated") or page.get("NextDNSName") != name:
            return found
        request = {"DNSName": page["NextDNSName"], "HostedZoneId": page["NextHostedZoneId"], "MaxItems": "100"}


def converge(module: Any, client: Any) -> dict[str, Any]:
    name = module.params["zone"].rstrip(".").lower() + "."
    tags = {str(key): str(value) for key, value in (module.params["tags"] or {}).items()}
    comment = module.params["comment"]
    try:
        zones = public_zones(client, name)
        if len(zones) > 1:
            ids = ", ".join(short_id(zone["Id"]) for zone in zones)
            module.fail_json(
                msg=f"{len(zones)} public hosted zones are named {name} ({ids}); give the one to use by its id"
            )
        zone = zones[0] if zones else None
        read: dict[str, Any] = {}
        if zone:
            zone_id = short_id(zone["Id"])
            read = read_in_parallel(
                module,
                {
                    "zone": aws_read(
                        module, f"hosted zone {zone_id}", lambda: client.get_hosted_zone(aws_retry=True, Id=zone_id)
                    ),
                    "tags": aws_read(
                        module,
                        f"the tags of hosted zone {zone_id}",
                        lambda: (
                            client.list_tags_for_resource(
                                aws_retry=True, ResourceType="hostedzone", ResourceId=zone_id
                            )["ResourceTagSet"].get("Tags")
                            or []
                        ),
                    ),
                },
            )
        declared: dict[str, Any] = {"tags": tags}
        actual: dict[str, Any] | None = None
        if comment is not None:
            declared["comment"] = comment
        if zone:
            actual = {
                "comment": (zone.get("Config") or {}).get("Comment", ""),
                "tags": {tag["Key"]: tag["Value"] for tag in read["tags"]},
            }
        diff = differences(declared, actual)
        zone_id = short_id(zone["Id"]) if zone else ""
        name_servers = ((read.get("zone") or {}).get("DelegationSet") or {}).get("NameServers") or []
        if diff and not module.check_mode:
            if not zone:
                created = client.create_hosted_zone(
                    aws_retry=True,
                    Name=name,
                    CallerReference=str(uuid.uuid4()),
                    HostedZoneConfig={"Comment": comment or "", "PrivateZone": False},
                )
                zone_id = short_id(created["HostedZone"]["Id"])
                name_servers = (created.get("DelegationSet") or {}).get("NameServers") or []
                actual = {"comment": comment or "", "tags": {}}
            if comment is not None and actual["comment"] != comment:
                client.update_hosted_zone_comment(aws_retry=True, Id=zone_id, Comment=comment)
            add = [
                {"Key": key, "Value": value} for key, value in sorted(tags.items()) if actual["tags"].get(key) != value
            ]
            remove = sorted(key for key in actual["tags"] if key not in tags)
            # ChangeTagsForResource takes at most 10 tags to add and 10 keys to remove a call.
            for start in range(0, max(len(add), len(remove)), 10):
                client.change_tags_for_resource(
                    aws_retry=True,
                    ResourceType="hostedzone",
                    ResourceId=zone_id,
                    **({"AddTags": add[start : start + 10]} if add[start : start + 10] else {}),
                    **({"RemoveTagKeys": remove[start : start + 10]} if remove[start : start + 10] else {}),
                )
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to converge hosted zone {name}")
    now = declared if diff and not module.check_mode else (actual or declared)
    return {
        "changed": bool(diff),
        "zone_id": zone_id,
        "name": name,
        "comment": now.get("comment", (actual or {}).get("comment", comment or "")),
        "private_zone": False,
        "name_servers": name_servers,
        "tags": now["tags"],
        "diff": diff or {"before": {}, "after": {}},
    }


def main() -> None:
    argument_spec = dict(
        zone=dict(type="str", required=True),
        comment=dict(type="str"),
        tags=dict(type="dict", default={}),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("route53", retry_decorator=AWSRetry.jittered_backoff())
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
