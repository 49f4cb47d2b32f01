"""Turn the seed's security-group table (table 4.4) into the groups of library/ec2_security_groups."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def security_group_rule(rule: dict, group_names: dict[str, str], cidrs: dict[str, str]) -> dict:
    """{port, from_group | from_cidr_var, description} -> a TCP rule for ec2_security_groups.

    group_names: the groups' names by the table's keys (aws_names.security_groups)."""
    out = {"proto": "tcp", "ports": [int(rule["port"])], "rule_desc": rule.get("description", "")}
    if "from_group" in rule:
        out["group_name"] = group_names[rule["from_group"]]
    elif "from_cidr_var" in rule:
        cidr = cidrs.get(rule["from_cidr_var"])
        if not cidr:
            raise AnsibleFilterError(f"security group rule {rule}: variable {rule['from_cidr_var']} has no value")
        out["cidr_ipv6" if ":" in cidr else "cidr_ip"] = cidr
    else:
        raise AnsibleFilterError(f"security group rule {rule} needs from_group or from_cidr_var")
    return out


def security_group_specs(
    table: list[dict], group_names: dict[str, str], cidrs: dict[str, str], tags: dict[str, str], admin_access: str
) -> list[dict]:
    """The table's rows -> ec2_security_groups' groups, in table order: name, description, the rows'
    rules (admin_access ssm leaves out the SSH rule, port 22) and the tags with Name and Role."""
    groups = []
    for row in table:
        name = group_names[row["key"]]
        rules = [rule for rule in row.get("rules") or [] if admin_access != "ssm" or int(rule["port"]) != 22]
        groups.append(
            {
                "name": name,
                "description": row["description"],
                "rules": [security_group_rule(rule, group_names, cidrs) for rule in rules],
                "tags": {**tags, "Name": name, "Role": row["key"]},
            }
        )
    return groups


class FilterModule:
    def filters(self) -> dict:
        return {"security_group_rule": security_group_rule, "security_group_specs": security_group_specs}
