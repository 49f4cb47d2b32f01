"""The aws_network role's subnets as library/ec2_vpc_subnets' arguments.

  subnets | aws_network_subnet_specs(tags, vpc_name)

`subnets` is the role's [{tier, cidr, az}] (roles/aws_network/vars/main.yml): a public subnet gives
its hosts a public address; each is named <vpc_name>-<tier>-<zone letter> and tagged with its tier.
"""

from __future__ import annotations

from typing import Any


def aws_network_subnet_specs(subnets: list[dict[str, Any]], tags: dict[str, Any], vpc_name: str) -> list[dict]:
    return [
        {
            "cidr": subnet["cidr"],
            "az": subnet["az"],
            "map_public": subnet["tier"] == "public",
            "tags": {**tags, "Name": f"{vpc_name}-{subnet['tier']}-{str(subnet['az'])[-1:]}", "Tier": subnet["tier"]},
        }
        for subnet in subnets
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"aws_network_subnet_specs": aws_network_subnet_specs}
