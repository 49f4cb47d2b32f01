#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_security_groups
short_description: Create a VPC's security groups with exactly their inbound rules and tags, reading them all at once
version_added: 1.0.0
description:
  - Reads every declared group of the VPC with one C(DescribeSecurityGroups) (rules and tags included),
    compares each with its declaration and writes only what differs (C(CreateSecurityGroup),
    C(AuthorizeSecurityGroupIngress), C(RevokeSecurityGroupIngress),
    C(UpdateSecurityGroupRuleDescriptionsIngress), C(CreateTags), C(DeleteTags)).
  - It exists because M(amazon.aws.ec2_security_group) takes one group per call and, on every run,
    reads the group several times, each group a rule names, and the account id through STS, so a
    loop over four groups is about twenty requests when nothing changes.
  - The inbound rules are exactly the declared ones (others are revoked, a rule's description is
    kept as declared). The outbound rules are left as they are, as M(amazon.aws.ec2_security_group)
    leaves them without O(amazon.aws.ec2_security_group#module:rules_egress). AWS cannot change a
    group's description in place; a different one is reported as a warning, not written.
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no
    write. Returns one entry per group in RV(results), with its own C(changed) and C(diff) (before
    the actual settings, after the declared ones, only those that differ).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  vpc_id:
    description: The VPC the groups are in.
    type: str
    required: true
  groups:
    description: The security groups, in the order their results are returned.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: The group's name (what identifies it in the VPC)., type: str, required: true}
      description: {description: The description a new group is created with., type: str, required: true}
      tags: {description: The group's tags exactly (others are removed)., type: dict, default: {}}
      rules:
        description: The inbound rules, exactly.
        type: list
        elements: dict
        default: []
        suboptions:
          proto: {description: "The IP protocol (V(tcp), V(udp), V(icmp) or V(-1)).", type: str, default: tcp}
          ports: {description: The ports; each one rule., type: list, elements: int, required: true}
          rule_desc: {description: The rule's description., type: str, default: ""}
          cidr_ip: {description: The IPv4 CIDR the traffic comes from., type: str}
          cidr_ipv6: {description: The IPv6 CIDR the traffic comes from., type: str}
          group_name: {description: "The group (one of O(groups), by name) the traffic comes from.", type: str}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the load balancer's and the app hosts' groups
  ec2_security_groups:
    vpc_id: vpc-0123456789abcdef0
    groups:
      - name: mensetsu-dev-alb
        description: "ALB: HTTPS from the internet"
        rules: [{ports: [443], cidr_ip: 0.0.0.0/0, rule_desc: HTTPS from anywhere}]
        tags: {Name: mensetsu-dev-alb}
      - name: mensetsu-dev-app
        description: "EC2: API from the ALB"
        rules: [{ports: [8000], group_name: mensetsu-dev-alb, rule_desc: FastAPI from the ALB}]
        tags: {Name: mensetsu-dev-app}
"""

RETURN = r"""
results:
  description: One entry per declared group, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    group_name: {description: The group's name., type: str}
    label: {description: "The group's name again (the drift report's C(Managed by) names the result by it).", type: str}
    group_id: {description: The group's id (absent for one check mode would create)., type: str}
    action: {description: "V(created), V(updated) or V(unchanged).", type: str}
    changed: {description: "Whether the group was (or, in check mode, would be) written.", type: bool}
    ip_permissions: {description: "The inbound rules after the task, as AWS describes them (snake_case).", type: list}
    tags: {description: The tags after the task., type: dict}
    diff:
      description: "The settings that differ: before (actual) and after (declared), C(ip_permissions) and C(tags)."
      type: dict
  sample:
    - {group_name: mensetsu-dev-app, group_id: sg-0123456789abcdef0, action: updated, changed: true,
       diff: {before: {ip_permissions: [{ip_protocol: tcp, from_port: 22, to_port: 22,
                                         ip_ranges: [{cidr_ip: 0.0.0.0/0, description: ""}]}]},
              after: {ip_permissions: []}}}
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import ec2_tags, tag_specifications, write_ec2_tags
from ansible.module_utils.task_warnings import warn
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# EC2 is eventually consistent: right after CreateSecurityGroup, AWS may answer a write that names
# the new group (its rules, a rule of another group naming it) InvalidGroup.NotFound for a few
# seconds. amazon.aws.ec2_security_group sleeps 3 s after each creation instead; this module retries
# those answers with backoff (and never reads by id, so a real absence is never retried).
RETRY_CODES = ["InvalidGroup.NotFound"]


def retry_decorator() -> Any:
    return AWSRetry.jittered_backoff(catch_extra_error_codes=RETRY_CODES)


# A rule's source kinds: the IpPermission key, the key of its members, the snake_case names.
SOURCES = (
    ("IpRanges", "CidrIp", "ip_ranges", "cidr_ip"),
    ("Ipv6Ranges", "CidrIpv6", "ipv6_ranges", "cidr_ipv6"),
    ("PrefixListIds", "PrefixListId", "prefix_list_ids", "prefix_list_id"),
    ("UserIdGroupPairs", "GroupId", "user_id_group_pairs", "group_id"),
)
# (protocol, from port, to port, source kind, source) -> description
Rules = dict[tuple[str, Any, Any, str, str], str]


def rules_of(permissions: list[dict[str, Any]]) -> Rules:
    """AWS's IpPermissions as one entry per rule and source. AWS answers a protocol given as a
    number by its name for tcp, udp and icmp, and omits the ports for all protocols (-1)."""
    rules: Rules = {}
    for permission in permissions:
        protocol = str(permission.get("IpProtocol", "-1"))
        low, high = permission.get("FromPort"), permission.get("ToPort")
        if protocol == "-1":
            low = high = None
        for source in SOURCES:
            key, member_key = source[0], source[1]
            for member in permission.get(key) or []:
                rules[(protocol, low, high, key, str(member.get(member_key)))] = member.get("Description") or ""
    return rules


def declared_rules(specs: list[dict[str, Any]], group_ids: dict[str, str]) -> Rules:
    """The declared rules in rules_of's terms; a group source by its id (its name while check mode
    plans its creation)."""
    rules: Rules = {}
    protocols = {"6": "tcp", "17": "udp", "1": "icmp", "all": "-1"}
    for spec in specs:
        protocol = protocols.get(str(spec["proto"]).lower(), str(spec["proto"]).lower())
        for port in spec["ports"]:
            low = high = None if protocol == "-1" else int(port)
            if spec.get("cidr_ip"):
                source = ("IpRanges", spec["cidr_ip"])
            elif spec.get("cidr_ipv6"):
                source = ("Ipv6Ranges", spec["cidr_ipv6"])
            else:
                source = ("UserIdGroupPairs", group_ids.get(spec["group_name"], spec["group_name"]))
            rules[(protocol, low, high, *source)] = spec.get("rule_desc") or ""
    return rules


def permissions(rules: Rules, api: bool = False) -> list[dict[str, Any]]:
    """Rules back as IpPermissions (api) or as amazon.aws.ec2_security_group returns them (snake_case,
    which the drift report reads), one permission per protocol and ports."""
    grouped: dict[tuple[str, Any, Any], dict[str, Any]] = {}
    names = {key: (snake, member_key, snake_member) for key, member_key, snake, snake_member in SOURCES}
    for (protocol, low, high, key, source), description in sorted(rules.items(), key=str):
        permission = grouped.setdefault(
            (protocol, low, high),
            {"IpProtocol": protocol, **({} if low is None else {"FromPort": low, "ToPort": high})}
            if api
            else {"ip_protocol": protocol, **({} if low is None else {"from_port": low, "to_port": high})},
        )
        snake, member_key, snake_member = names[key]
        member = {member_key: source, "Description": description} if api else {snake_member: source}
        if api and not description:
            del member["Description"]
        if not api:
            member["description"] = description
        permission.setdefault(key if api else snake, []).append(member)
    return list(grouped.values())


def differences(declared: dict[str, Any], actual: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The diff that decides every write: {} when the group is as declared; all for a missing one.
    declared and actual: {"rules": Rules, "tags": {...}} (AWS's own aws:* tags never count)."""
    if actual is None:
        return {"before": {}, "after": {"ip_permissions": permissions(declared["rules"]), "tags": declared["tags"]}}
    before, after = {}, {}
    if actual["rules"] != declared["rules"]:
        before["ip_permissions"], after["ip_permissions"] = permissions(actual["rules"]), permissions(declared["rules"])
    if actual["tags"] != declared["tags"]:
        before["tags"], after["tags"] = actual["tags"], declared["tags"]
    return {"before": before, "after": after} if before else {}


def read_groups(module: Any, client: Any, vpc_id: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """The declared groups of the VPC by name, rules and tags included: one DescribeSecurityGroups."""
    found: dict[str, dict[str, Any]] = {}
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": names}]
    try:
        for page in client.get_paginator("describe_security_groups").paginate(Filters=filters):
            found.update({group["GroupName"]: group for group in page.get("SecurityGroups", [])})
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the security groups of {vpc_id}")
    return found


def write(client: Any, group_id: str, declared: dict[str, Any], actual: dict[str, Any]) -> None:
    """Write what differs between the two (the same terms differences compares)."""
    wanted, have = declared["rules"], actual["rules"]
    extra = {rule: text for rule, text in have.items() if rule not in wanted}
    missing = {rule: text for rule, text in wanted.items() if rule not in have}
    described = {rule: text for rule, text in wanted.items() if rule in have and have[rule] != text}
    if extra:
        client.revoke_security_group_ingress(aws_retry=True, GroupId=group_id, IpPermissions=permissions(extra, True))
    if missing:
        client.authorize_security_group_ingress(
            aws_retry=True, GroupId=group_id, IpPermissions=permissions(missing, True)
        )
    if described:
        client.update_security_group_rule_descriptions_ingress(
            aws_retry=True, GroupId=group_id, IpPermissions=permissions(described, True)
        )
    write_ec2_tags(client, group_id, declared["tags"], actual["tags"])


def create(client: Any, vpc_id: str, spec: dict[str, Any], tags: dict[str, str]) -> str:
    request: dict[str, Any] = {"VpcId": vpc_id, "GroupName": spec["name"], "Description": spec["description"]}
    if tags:
        request["TagSpecifications"] = tag_specifications("security-group", tags)
    return client.create_security_group(aws_retry=True, **request)["GroupId"]


def converge(module: Any, client: Any) -> dict[str, Any]:
    """Read once, create the missing groups (so that rules can name them), then write only what differs."""
    specs = module.params["groups"]
    names = [spec["name"] for spec in specs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        module.fail_json(msg=f"security groups declared more than once: {', '.join(duplicated)}")
    unknown = sorted(
        {rule["group_name"] for spec in specs for rule in spec["rules"] if rule.get("group_name")} - set(names)
    )
    if unknown:
        module.fail_json(msg=f"rules name security groups this task does not declare: {', '.join(unknown)}")
    for spec in specs:
        for rule in spec["rules"]:
            if sum(bool(rule.get(key)) for key in ("cidr_ip", "cidr_ipv6", "group_name")) != 1:
                module.fail_json(
                    msg=f"group {spec['name']}: a rule needs one of cidr_ip, cidr_ipv6, group_name: {rule}"
                )
    vpc_id = module.params["vpc_id"]
    existing = read_groups(module, client, vpc_id, names)
    ids = {name: group["GroupId"] for name, group in existing.items()}
    results = []
    try:
        if not module.check_mode:
            for spec in specs:
                if spec["name"] not in ids:
                    tags = {str(k): str(v) for k, v in (spec["tags"] or {}).items()}
                    ids[spec["name"]] = create(client, vpc_id, spec, tags)
        for spec in specs:
            group = existing.get(spec["name"])
            declared = {
                "rules": declared_rules(spec["rules"], ids),
                "tags": {str(k): str(v) for k, v in (spec["tags"] or {}).items()},
            }
            actual = {"rules": rules_of(group.get("IpPermissions") or []), "tags": ec2_tags(group)} if group else None
            diff = differences(declared, actual)
            entry: dict[str, Any] = {"group_name": spec["name"], "label": spec["name"], "changed": bool(diff)}
            entry["action"] = "unchanged" if not diff else "updated" if group else "created"
            if group and group.get("Description") != spec["description"]:
                warn(
                    module,
                    f"security group {spec['name']}: its description is {group.get('Description')!r}, declared "
                    f"{spec['description']!r}; AWS cannot change it in place (delete and re-create the group)",
                )
            if spec["name"] in ids:
                entry["group_id"] = ids[spec["name"]]
            if diff:
                entry["diff"] = diff
            if diff and not module.check_mode:
                # A group this run created has no inbound rule yet, and the tags it was created with.
                write(client, ids[spec["name"]], declared, actual or {"rules": {}, "tags": declared["tags"]})
            after = declared if (diff and not module.check_mode) or not actual else actual
            entry["ip_permissions"] = permissions(after["rules"])
            entry["tags"] = after["tags"]
            results.append(entry)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to converge the security groups of {vpc_id}")
    changed = [entry for entry in results if entry["changed"]]
    return {
        "changed": bool(changed),
        "results": results,
        "diff": {
            "before": {entry["group_name"]: entry["diff"]["before"] for entry in changed},
            "after": {entry["group_name"]: entry["diff"]["after"] for entry in changed},
        },
    }


def main() -> None:
    rule_options = dict(
        proto=dict(type="str", default="tcp"),
        ports=dict(type="list", elements="int", required=True),
        rule_desc=dict(type="str", default=""),
        cidr_ip=dict(type="str"),
        cidr_ipv6=dict(type="str"),
        group_name=dict(type="str"),
    )
    group_options = dict(
        name=dict(type="str", required=True),
        description=dict(type="str", required=True),
        tags=dict(type="dict", default={}),
        rules=dict(type="list", elements="dict", default=[], options=rule_options),
    )
    argument_spec = dict(
        vpc_id=dict(type="str", required=True),
        groups=dict(type="list", elements="dict", required=True, options=group_options),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ec2", retry_decorator=retry_decorator())
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
