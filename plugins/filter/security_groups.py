"""Turn a row of the seed's security-group table into an amazon.aws.ec2_security_group rule."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def security_group_rule(rule: dict, group_names: dict[str, str], cidrs: dict[str, str]) -> dict:
    """{port, from_group | from_cidr_var, description} -> a TCP rule for ec2_security_group.

    group_names: the groups' names by the table's keys (aws_names.security_groups)."""
    out = {"proto": "tcp", "ports": [int(rule["port"])], "rule_desc": rule.get("description", "")}
    if "from_group" in rule:
        out["group_name"] = group_names[rule["from_group"]]
    elif "from_cidr_var" in rule:
        cidr = cidrs.get(rule["from_cidr_var"])
        if not cidr:
            raise AnsibleFilterError(f"security group rule {rule}: variable {rule['from_cidr_var']} has no value")
        out["ipv6_cidr_ip" if ":" in cidr else "cidr_ip"] = cidr
    else:
        raise AnsibleFilterError(f"security group rule {rule} needs from_group or from_cidr_var")
    return out


class FilterModule:
    def filters(self) -> dict:
        return {"security_group_rule": security_group_rule}
