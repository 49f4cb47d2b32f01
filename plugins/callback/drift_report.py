# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a read-only drift run (playbooks/drift.yml) into a verdict, a JSON and a Markdown report."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: drift_report
type: aggregate
short_description: Write the drift report of playbooks/drift.yml and hand its verdict to the playbook
description:
  - Collects every C(changed) result of a read-only drift run (check mode and diff forced on the
    plays) as drift items (resource, attribute, declared, actual), each with the AWS identity of
    the resource (CloudFormation type, id, name, ARN, region, console link) or, on an app host,
    the host and the file, and a severity.
  - Acts only for C(playbooks/drift.yml); it is loaded for every playbook without being enabled,
    from ansible.cfg's C(callback_plugins) (C(plugins/callback)) and from
    C(playbooks/callback_plugins), a link to that directory next to the playbook, so even a
    runner that replaces C(ANSIBLE_CALLBACK_PLUGINS), as AWX does, finds it.
  - When the play that sets C(drift_report_verdict) starts (the last play of drift.yml), writes
    C(reports/drift-<env>-<UTC timestamp>.json) and C(.md) and gives the play the variable
    C(drift_report) (status, counts, one line per difference), which the play publishes with
    C(set_stats) and turns into a failed task on drift. A run that ends before that play (a
    failed or unreachable host) writes a report with C(status) V(failed).
  - When ansible-playbook exits, prints the verdict as the run's last lines.
  - A result of a task with C(no_log) becomes an item that says the resource differs, without
    any value; its values never reach the report.
options:
  report_dir:
    description: Where the reports are written.
    default: reports
    type: path
    env:
      - name: DRIFT_REPORT_DIR
  environment:
    description: The environment's name in the report's file name; defaults to the inventory's directory name.
    type: str
    env:
      - name: DRIFT_ENV
"""

import atexit
import datetime
import difflib
import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from ansible.playbook.handler import Handler
from ansible.plugins.callback import CallbackBase

# plugins/callback/ -> the repository -> playbooks/drift.yml (resolve(): also when loaded through
# the playbooks/callback_plugins link)
DRIFT_PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "drift.yml"
VERDICT_VAR = "drift_report_verdict"  # the play variable that marks drift.yml's last play
# The play variable that marks the attribution play: the callback hands it the resources to look up.
ATTRIBUTION_VAR = "drift_report_attribution"
ATTRIBUTION_RESOURCES = "drift_attribution_resources"
UNMANAGED_MODULE = "aws_unmanaged_resources_info"  # its `unmanaged` items are the report's own section
ATTRIBUTION_MODULE = "aws_drift_attribution_info"  # its `attribution` answers go to every item
# The stage (the tag of site.yml that converges it) of each role's differences.
ROLE_STAGES = {
    "aws_network": "network",
    "aws_security_groups": "security",
    "aws_iam": "iam",
    "aws_secrets": "secrets",
    "aws_data": "data",
    "aws_storage": "storage",
    "aws_dns": "dns",
    "aws_certificates": "certificates",
    "aws_edge": "edge",
    "aws_compute": "compute",
    "aws_monitoring": "monitoring",
    "aws_budget": "budget",
    "base": "base",
    "python": "python",
    "fastapi_service": "app",
}
STAGE_ORDER = (*dict.fromkeys(ROLE_STAGES.values()), "other")
# CloudTrail's ResourceName of a resource: its ARN for these services, its id (or name) otherwise.
LOOKUP_BY_ARN = ("AWS::ElasticLoadBalancingV2::", "AWS::SecretsManager::", "AWS::CertificateManager::", "AWS::SNS::")
CONTEXT_FACT = "drift_report_context"  # {account, partition, region}: set by drift.yml's first AWS task
HIDDEN = "(hidden: no_log)"
NO_DIFF = "(the module reports a change but not which attribute)"
NO_LOG_VALUE = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
MAX_TEXT = 4000  # longest text value kept in a report (file contents are cut after it)


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """{"dotted.path": leaf} of a nested dict; lists are leaves (compared as a whole)."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, child in value.items():
            flat.update(flatten(child, f"{path}.{key}" if path else str(key)))
        return flat
    return {path: value}


def canonical(value: Any) -> Any:
    """A value with list order removed and numbers unified ("22" == 22), for comparison."""
    if isinstance(value, dict):
        return {key: canonical(child) for key, child in sorted(value.items(), key=lambda pair: str(pair[0]))}
    if isinstance(value, list):
        members = (canonical(item) for item in value)
        return sorted(members, key=lambda item: json.dumps(item, sort_keys=True, default=str))
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"... ({len(value) - MAX_TEXT} more characters)"
    return value


def security_group_rules(permissions: Any) -> list[str] | None:
    """ip_permissions as one readable line per rule ("tcp 22 from 0.0.0.0/0"), or None."""
    if not isinstance(permissions, list) or not all(isinstance(item, dict) for item in permissions):
        return None
    rules = set()
    for permission in permissions:
        protocol = str(permission.get("ip_protocol", ""))
        low, high = permission.get("from_port"), permission.get("to_port")
        ports = "all" if protocol == "-1" else str(low) if str(low) == str(high) else f"{low}-{high}"
        sources = [item.get("cidr_ip") for item in permission.get("ip_ranges", [])]
        sources += [item.get("cidr_ipv6") for item in permission.get("ipv6_ranges", [])]
        sources += [item.get("prefix_list_id") for item in permission.get("prefix_list_ids", [])]
        sources += [
            item.get("group_id") or item.get("group_name") for item in permission.get("user_id_group_pairs", [])
        ]
        rules |= {f"{'all' if protocol == '-1' else protocol} {ports} from {source}" for source in sources}
    return sorted(rules)


def list_item(attribute: str, declared: list, actual: list) -> dict[str, Any]:
    """A list attribute: the whole lists, and which members are missing or extra."""
    if attribute.rsplit(".", 1)[-1] in ("ip_permissions", "ip_permissions_egress"):
        declared = security_group_rules(declared) or declared
        actual = security_group_rules(actual) or actual
    have = [canonical(member) for member in actual]
    want = [canonical(member) for member in declared]
    return {
        "attribute": attribute,
        "declared": declared,
        "actual": actual,
        "missing": [member for member in want if member not in have],
        "extra": [member for member in have if member not in want],
    }


def diff_items(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """The attributes one Ansible diff (before = actual, after = declared) says differ.

    An attribute that only the actual side has is not declared (the module shows what the API
    returned): it is not drift, unless the whole declared side is empty (a resource to delete).
    """
    before, after = diff.get("before"), diff.get("after")
    if isinstance(before, str) or isinstance(after, str):
        return text_items(diff)
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [] if before == after else [{"attribute": "", "declared": after, "actual": before}]
    flat_before, flat_after = flatten(before), flatten(after)
    attributes = set(flat_after) if flat_after and after else set(flat_before)
    items = []
    for attribute in sorted(attributes):
        actual, declared = flat_before.get(attribute), flat_after.get(attribute)
        if canonical(actual) == canonical(declared):
            continue
        if isinstance(actual, list) and isinstance(declared, list):
            items.append(list_item(attribute, declared, actual))
        else:
            items.append({"attribute": attribute, "declared": declared, "actual": actual})
    return items


def text_items(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """A file's diff: the lines only the declared content has against those only the actual one
    has, numbered ("14: NoNewPrivileges=yes"), under the file's path (the diff's before_header;
    a template's after_header is a temporary path on the controller)."""
    before, after = diff.get("before") or "", diff.get("after") or ""
    if before == after:
        return []
    header = diff.get("before_header") or diff.get("after_header") or "content"
    actual_lines, declared_lines = str(before).splitlines(), str(after).splitlines()
    declared, actual = [], []
    matcher = difflib.SequenceMatcher(a=actual_lines, b=declared_lines, autojunk=False)
    for tag, a_low, a_high, b_low, b_high in matcher.get_opcodes():
        if tag != "equal":
            actual += [f"{number + 1}: {line}" for number, line in enumerate(actual_lines[a_low:a_high], a_low)]
            declared += [f"{number + 1}: {line}" for number, line in enumerate(declared_lines[b_low:b_high], b_low)]
    return [
        {
            "attribute": f"content of {header}",
            "declared": _clip("\n".join(declared)) if declared else "(no line)" if after else "(absent)",
            "actual": _clip("\n".join(actual)) if actual else "(no line)" if before else "(absent)",
        }
    ]


# systemd's ActiveState for each declared `state` of ansible.builtin.systemd_service / systemd / service.
SERVICE_STATES = {"started": "active", "restarted": "active", "reloaded": "active", "stopped": "inactive"}
SERVICE_ACTIONS = {
    "ansible.builtin.systemd_service",
    "ansible.builtin.systemd",
    "ansible.builtin.service",
    "ansible.legacy.systemd_service",
    "ansible.legacy.systemd",
    "ansible.legacy.service",
}


def service_items(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A systemd unit's declared state and enablement against what systemd answered (the module
    reports `changed` in check mode without a diff, but returns the unit's properties)."""
    arguments = (result.get("invocation") or {}).get("module_args") or {}
    status = result.get("status") if isinstance(result.get("status"), dict) else {}
    unit = arguments.get("name") or result.get("name") or "unit"
    items = []
    declared_state = SERVICE_STATES.get(str(arguments.get("state")))
    if declared_state and status.get("ActiveState") and status["ActiveState"] != declared_state:
        items.append({"attribute": f"{unit} state", "declared": declared_state, "actual": status["ActiveState"]})
    if arguments.get("enabled") is not None and status.get("UnitFileState"):
        declared_enabled = "enabled" if arguments["enabled"] else "disabled"
        actual_enabled = status["UnitFileState"]
        if actual_enabled != declared_enabled:
            items.append({"attribute": f"{unit} enabled", "declared": declared_enabled, "actual": actual_enabled})
    return items


def argument_items(result: dict[str, Any]) -> list[dict[str, Any]]:
    """For a module that says `changed` without a diff: the arguments it was given that differ
    from the same-named values it returned (itself, or its first instance)."""
    arguments = flatten((result.get("invocation") or {}).get("module_args") or {})
    sources = [result]
    for key in ("instances", "instance"):
        found = result.get(key)
        if isinstance(found, list) and found and isinstance(found[0], dict):
            sources.append(found[0])
        elif isinstance(found, dict):
            sources.append(found)
    actual_values: dict[str, Any] = {}
    for source in sources:
        for path, value in flatten({k: v for k, v in source.items() if k != "invocation"}).items():
            actual_values.setdefault(path, value)
    items = []
    for path, declared in sorted(arguments.items()):
        if path not in actual_values or not comparable(declared, actual_values[path]):
            continue
        actual = actual_values[path]
        if canonical(declared) != canonical(actual) and str(declared) != str(actual):
            items.append({"attribute": path, "declared": declared, "actual": actual})
    return items


def comparable(declared: Any, actual: Any) -> bool:
    """Whether an argument and a returned value of the same name can be compared: scalars of one
    kind, or non-empty lists of scalars (not ids against objects, not an unset argument)."""
    if declared is None or declared == NO_LOG_VALUE or declared in ([], {}, ""):
        return False
    if isinstance(declared, list):
        members = [*declared, *(actual if isinstance(actual, list) else [None])]
        return isinstance(actual, list) and not any(isinstance(member, dict | list) for member in members)
    if isinstance(declared, bool) or isinstance(actual, bool):
        return isinstance(declared, bool) and isinstance(actual, bool)
    return isinstance(declared, str | int | float) and isinstance(actual, str | int | float)


def result_items(result: dict[str, Any], action: str = "") -> list[dict[str, Any]]:
    """The drift items of one (non-loop or item) result that reports `changed`."""
    if result.get("censored") or result.get("_ansible_no_log"):
        return [{"attribute": "", "declared": HIDDEN, "actual": HIDDEN, "secret": True}]
    if isinstance(result.get("differences"), list) and result["differences"]:
        return [dict(item) for item in result["differences"]]
    if action in SERVICE_ACTIONS and (items := service_items(result)):
        return items
    diffs = result.get("diff")
    diffs = diffs if isinstance(diffs, list) else [diffs] if isinstance(diffs, dict) else []
    items = [item for diff in diffs for item in diff_items(diff)] or argument_items(result)
    return items or [{"attribute": "", "declared": NO_DIFF, "actual": NO_DIFF}]


# --- The AWS identity of a drifted resource -------------------------------------------------
# One entry per module the drift run uses: where its result (or, after "@", its arguments) holds
# the resource's id, name and ARN, how to build an ARN AWS's documented format gives when the
# module returns none, the console page, and whether the service is global. The first path with a
# value wins. Placeholders: {partition} {region} {account} {id} {name}.
class Kind(NamedTuple):
    type: str
    id: tuple[str, ...] = ()
    name: tuple[str, ...] = ()
    arn: tuple[str, ...] = ()
    arn_format: str = ""
    console: str = ""
    global_service: bool = False


_EC2 = "https://{region}.console.aws.amazon.com/ec2/home?region={region}#"
_VPC = "https://{region}.console.aws.amazon.com/vpcconsole/home?region={region}#"
_CLOUDFRONT = "https://us-east-1.console.aws.amazon.com/cloudfront/v4/home#/"
_ZONE = "https://us-east-1.console.aws.amazon.com/route53/v2/hostedzones#ListRecordSets/{zone}"

_BUCKET = Kind(
    "AWS::S3::Bucket",
    ("@name",),
    ("@name",),
    (),
    "arn:{partition}:s3:::{id}",
    "https://s3.console.aws.amazon.com/s3/buckets/{id}?region={region}",
)
_KEY_PAIR = Kind("AWS::EC2::KeyPair", ("key.id", "@name"), ("@name",), (), "", _EC2 + "KeyPairs:keyName={name}")
_HOSTED_ZONE = Kind(
    "AWS::Route53::HostedZone",
    ("zone_id",),
    ("name", "@zone"),
    (),
    "arn:{partition}:route53:::hostedzone/{id}",
    _ZONE.replace("{zone}", "{id}"),
    True,
)
_SECRET_CONSOLE = "https://{region}.console.aws.amazon.com/secretsmanager/secret?name={name}&region={region}"

KINDS: dict[str, Kind] = {
    "ec2_vpc_net": Kind(
        "AWS::EC2::VPC",
        ("vpc.id", "vpc.vpc_id"),
        ("vpc.name", "@name"),
        (),
        "arn:{partition}:ec2:{region}:{account}:vpc/{id}",
        _VPC + "VpcDetails:VpcId={id}",
    ),
    # library/ec2_vpc_network: the VPC, returned as ec2_vpc_net returns it.
    "ec2_vpc_network": Kind(
        "AWS::EC2::VPC",
        ("vpc.id", "vpc.vpc_id"),
        ("vpc.name", "@name"),
        (),
        "arn:{partition}:ec2:{region}:{account}:vpc/{id}",
        _VPC + "VpcDetails:VpcId={id}",
    ),
    "ec2_vpc_subnet": Kind(
        "AWS::EC2::Subnet",
        ("subnet.id", "subnet.subnet_id"),
        ("subnet.tags.Name", "@tags.Name"),
        ("subnet.subnet_arn",),
        "arn:{partition}:ec2:{region}:{account}:subnet/{id}",
        _VPC + "SubnetDetails:subnetId={id}",
    ),
    # library/ec2_vpc_subnets: one result per subnet in `results`, each with its `subnet`.
    "ec2_vpc_subnets": Kind(
        "AWS::EC2::Subnet",
        ("subnet.id", "subnet.subnet_id"),
        ("subnet.tags.Name", "@tags.Name"),
        ("subnet.subnet_arn",),
        "arn:{partition}:ec2:{region}:{account}:subnet/{id}",
        _VPC + "SubnetDetails:subnetId={id}",
    ),
    "ec2_vpc_igw": Kind(
        "AWS::EC2::InternetGateway",
        ("gateway_id",),
        ("tags.Name", "@tags.Name"),
        (),
        "arn:{partition}:ec2:{region}:{account}:internet-gateway/{id}",
        _VPC + "InternetGateway:internetGatewayId={id}",
    ),
    "ec2_vpc_route_table": Kind(
        "AWS::EC2::RouteTable",
        ("route_table.id", "route_table.route_table_id"),
        ("route_table.tags.Name", "@tags.Name"),
        (),
        "arn:{partition}:ec2:{region}:{account}:route-table/{id}",
        _VPC + "RouteTableDetails:RouteTableId={id}",
    ),
    "ec2_vpc_endpoint": Kind(
        "AWS::EC2::VPCEndpoint",
        ("result.vpc_endpoint_id",),
        ("result.tags.Name", "@tags.Name"),
        (),
        "arn:{partition}:ec2:{region}:{account}:vpc-endpoint/{id}",
        _VPC + "EndpointDetails:vpcEndpointId={id}",
    ),
    "ec2_security_group": Kind(
        "AWS::EC2::SecurityGroup",
        ("group_id",),
        ("group_name", "@name"),
        ("security_group_arn",),
        "arn:{partition}:ec2:{region}:{account}:security-group/{id}",
        _EC2 + "SecurityGroup:groupId={id}",
    ),
    # library/ec2_security_groups: one result per group in `results`, each with its id and name.
    "ec2_security_groups": Kind(
        "AWS::EC2::SecurityGroup",
        ("group_id",),
        ("group_name",),
        (),
        "arn:{partition}:ec2:{region}:{account}:security-group/{id}",
        _EC2 + "SecurityGroup:groupId={id}",
    ),
    "ec2_instance": Kind(
        "AWS::EC2::Instance",
        ("instances.0.instance_id", "instance_ids.0"),
        ("instances.0.tags.Name", "@tags.Name"),
        (),
        "arn:{partition}:ec2:{region}:{account}:instance/{id}",
        _EC2 + "InstanceDetails:instanceId={id}",
    ),
    "ec2_key": _KEY_PAIR,
    # library/ec2_key_pair: the roles' key pair (ec2_key stays for its removal).
    "ec2_key_pair": _KEY_PAIR,
    # The instance profile that carries the role (aws_iam keeps the role in it: an interrupted run
    # can leave it empty). IAM is global; the profile has no console page of its own.
    "iam_instance_profile": Kind(
        "AWS::IAM::InstanceProfile",
        ("iam_instance_profile.instance_profile_name", "@name"),
        ("iam_instance_profile.instance_profile_name", "@name"),
        ("iam_instance_profile.arn",),
        "arn:{partition}:iam::{account}:instance-profile/{id}",
        "https://us-east-1.console.aws.amazon.com/iam/home#/roles/details/{name}",
        True,
    ),
    "rds_parameter_group": Kind(
        "AWS::RDS::DBParameterGroup",
        ("name", "@name"),
        ("name", "@name"),
        ("arn",),
        "arn:{partition}:rds:{region}:{account}:pg:{id}",
        "https://{region}.console.aws.amazon.com/rds/home?region={region}#parameter-group-details:parameter-group-name={id}",
    ),
    # The account-level S3 Block Public Access: the account is the resource.
    "s3_account_public_access_block": Kind(
        "AWS::S3::AccountPublicAccessBlock",
        ("account_id", "@account_id"),
        (),
        (),
        "",
        "https://s3.console.aws.amazon.com/s3/settings?region={region}",
        True,
    ),
    # Used by the AMI replacement (aws_compute's replace.yml): the host's tags and its target group.
    "ec2_tag": Kind(
        "AWS::EC2::Instance",
        ("@resource",),
        ("@tags.Name",),
        (),
        "arn:{partition}:ec2:{region}:{account}:instance/{id}",
        _EC2 + "InstanceDetails:instanceId={id}",
    ),
    "elb_target": Kind(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        ("@target_group_name", "@target_group_arn"),
        ("@target_group_name",),
        ("@target_group_arn",),
        "",
        _EC2 + "TargetGroups:search={name}",
    ),
    "iam_role": Kind(
        "AWS::IAM::Role",
        ("iam_role.role_name", "@name"),
        ("iam_role.role_name", "@name"),
        ("iam_role.arn",),
        "arn:{partition}:iam::{account}:role/{id}",
        "https://us-east-1.console.aws.amazon.com/iam/home#/roles/details/{name}",
        True,
    ),
    # library/iam_roles names its inline policies' results by role_name and policy_name.
    "iam_policy": Kind(
        "AWS::IAM::RolePolicy",
        ("@iam_name+/+@policy_name", "role_name+/+policy_name"),
        ("@policy_name", "policy_name"),
        (),
        "",
        "https://us-east-1.console.aws.amazon.com/iam/home#/roles/details/{parent_name}?section=permissions",
        True,
    ),
    "secretsmanager_secret": Kind(
        "AWS::SecretsManager::Secret",
        ("@name", "secret.name"),
        ("@name", "secret.name"),
        ("secret.arn",),
        "",
        _SECRET_CONSOLE,
    ),
    # library/secretsmanager_secrets: always no_log (values); named by aws_drift_secrets in a drift run.
    "secretsmanager_secrets": Kind("AWS::SecretsManager::Secret", ("name",), ("name",), ("arn",), "", _SECRET_CONSOLE),
    # library/data_subnet_groups' results name their kind (drift_kind) and group (subnet_group.name).
    "rds_subnet_group": Kind(
        "AWS::RDS::DBSubnetGroup",
        ("subnet_group.name", "@name"),
        ("subnet_group.name", "@name"),
        ("subnet_group.db_subnet_group_arn",),
        "arn:{partition}:rds:{region}:{account}:subgrp:{id}",
        "https://{region}.console.aws.amazon.com/rds/home?region={region}#db-subnet-group:id={id}",
    ),
    "rds_instance": Kind(
        "AWS::RDS::DBInstance",
        ("db_instance_identifier", "@db_instance_identifier"),
        ("db_instance_identifier", "@db_instance_identifier"),
        ("db_instance_arn",),
        "arn:{partition}:rds:{region}:{account}:db:{id}",
        "https://{region}.console.aws.amazon.com/rds/home?region={region}#database:id={id}",
    ),
    "elasticache_subnet_group": Kind(
        "AWS::ElastiCache::SubnetGroup",
        ("cache_subnet_group.name", "@name"),
        ("cache_subnet_group.name", "@name"),
        ("cache_subnet_group.arn",),
        "arn:{partition}:elasticache:{region}:{account}:subnetgroup:{id}",
        "https://{region}.console.aws.amazon.com/elasticache/home?region={region}#/subnet-groups/{id}",
    ),
    "elasticache_replication_group": Kind(
        "AWS::ElastiCache::ReplicationGroup",
        ("replication_group_id", "@replication_group_id"),
        ("@replication_group_id",),
        ("arn",),
        "arn:{partition}:elasticache:{region}:{account}:replicationgroup:{id}",
        "https://{region}.console.aws.amazon.com/elasticache/home?region={region}#/redis/{id}",
    ),
    "s3_bucket": _BUCKET,
    # library/s3_buckets: one result per bucket in `results`, each with its name.
    "s3_buckets": Kind(
        "AWS::S3::Bucket",
        ("name",),
        ("name",),
        (),
        "arn:{partition}:s3:::{id}",
        "https://s3.console.aws.amazon.com/s3/buckets/{id}?region={region}",
    ),
    # A removal's (roles/aws_storage/tasks/absent.yml): never in a drift run, but a bucket if it were.
    "s3_bucket_empty": _BUCKET,
    "route53_zone": _HOSTED_ZONE,
    # library/route53_public_zone: the roles' zone (route53_zone stays for its removal).
    "route53_public_zone": _HOSTED_ZONE,
    "route53": Kind("AWS::Route53::RecordSet", ("@record+ +@type",), ("@record",), (), "", _ZONE, True),
    # library/route53_records: one result per record in `results`, each with its name (no final
    # dot, `*` unescaped), type and zone.
    "route53_records": Kind("AWS::Route53::RecordSet", ("record+ +type",), ("record",), (), "", _ZONE, True),
    # library/acm_certificate_request: one certificate, or several (certificates), each result with its name.
    "acm_certificate_request": Kind(
        "AWS::CertificateManager::Certificate",
        ("certificate_arn", "domain_name", "@domain_name"),
        ("domain_name", "@domain_name"),
        ("certificate_arn",),
        "",
        "https://{region}.console.aws.amazon.com/acm/home?region={region}#/certificates/{arn_id}",
    ),
    "cloudfront_origin_access_control": Kind(
        "AWS::CloudFront::OriginAccessControl",
        ("id",),
        ("origin_access_control_config.name", "@name"),
        (),
        "arn:{partition}:cloudfront::{account}:origin-access-control/{id}",
        _CLOUDFRONT + "originAccess/{id}",
        True,
    ),
    "cloudfront_spa_distribution": Kind(
        "AWS::CloudFront::Distribution",
        ("id",),
        ("domain_name",),
        ("arn",),
        "arn:{partition}:cloudfront::{account}:distribution/{id}",
        _CLOUDFRONT + "distributions/{id}",
        True,
    ),
    # roles/aws_edge's WAF and security headers (helper C; docs/security.md).
    "wafv2_managed_web_acl": Kind(
        "AWS::WAFv2::WebACL",
        ("id", "@name"),
        ("@name",),
        ("arn",),
        "",
        "https://us-east-1.console.aws.amazon.com/wafv2/homev2/web-acls?region={region}",
    ),
    "cloudfront_security_headers_policy": Kind(
        "AWS::CloudFront::ResponseHeadersPolicy",
        ("id", "@name"),
        ("@name",),
        (),
        "arn:{partition}:cloudfront::{account}:response-headers-policy/{id}",
        _CLOUDFRONT + "policies/responseHeaders/{id}",
        True,
    ),
    # library/elb_load_balancing's results name their kind (drift_kind) and resource (*_name).
    "elb_application_lb": Kind(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        ("load_balancer_name", "@name"),
        ("load_balancer_name", "@name"),
        ("load_balancer_arn",),
        "",
        _EC2 + "LoadBalancer:loadBalancerArn={arn}",
    ),
    "elb_target_group": Kind(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        ("target_group_name", "@name"),
        ("target_group_name", "@name"),
        ("target_group_arn",),
        "",
        _EC2 + "TargetGroup:targetGroupArn={arn}",
    ),
    "sns_topic": Kind(
        "AWS::SNS::Topic",
        ("@name", "sns_topic.name"),
        ("@name",),
        ("sns_arn", "sns_topic.topic_arn"),
        "arn:{partition}:sns:{region}:{account}:{id}",
        "https://{region}.console.aws.amazon.com/sns/v3/home?region={region}#/topic/{arn}",
    ),
    # library/sns_topic_by_arn: the topic named by the ARN it is given.
    "sns_topic_by_arn": Kind(
        "AWS::SNS::Topic",
        ("name",),
        ("name",),
        ("topic_arn", "@arn"),
        "arn:{partition}:sns:{region}:{account}:{id}",
        "https://{region}.console.aws.amazon.com/sns/v3/home?region={region}#/topic/{arn}",
    ),
    "cloudwatch_metric_alarm": Kind(
        "AWS::CloudWatch::Alarm",
        ("@name",),
        ("@name",),
        ("alarm_arn",),
        "arn:{partition}:cloudwatch:{region}:{account}:alarm:{id}",
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{id}",
    ),
    # library/cloudwatch_metric_alarms: one result per alarm in `results`, each with its name.
    "cloudwatch_metric_alarms": Kind(
        "AWS::CloudWatch::Alarm",
        ("name",),
        ("name",),
        ("alarm_arn",),
        "arn:{partition}:cloudwatch:{region}:{account}:alarm:{id}",
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{id}",
    ),
    # A dashboard's ARN has no region (arn:aws:cloudwatch::<account>:dashboard/<name>); its console
    # page is the region's CloudWatch.
    "cloudwatch_dashboard": Kind(
        "AWS::CloudWatch::Dashboard",
        ("@name",),
        ("@name",),
        ("arn",),
        "arn:{partition}:cloudwatch::{account}:dashboard/{id}",
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{id}",
    ),
    "aws_budget": Kind(
        "AWS::Budgets::Budget",
        ("@name",),
        ("@name",),
        (),
        "arn:{partition}:budgets::{account}:budget/{id}",
        "https://us-east-1.console.aws.amazon.com/billing/home#/budgets/details?name={id}",
        True,
    ),
    # roles/aws_logs (library/cloudtrail_trail)
    "cloudtrail_trail": Kind(
        "AWS::CloudTrail::Trail",
        ("@name",),
        ("@name",),
        ("trail.trail_arn",),
        "arn:{partition}:cloudtrail:{region}:{account}:trail/{id}",
        "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/trails/{arn}",
    ),
    # The flow log's id once it exists; a missing one is named by its VPC (no ARN then).
    "ec2_vpc_flow_log": Kind(
        "AWS::EC2::FlowLog",
        ("flow_log.flow_log_id", "@vpc_id"),
        ("@log_group_name",),
        (),
        "",
        _VPC + "vpcs:search={name}",
    ),
    # Session Manager's preferences (aws_compute, admin_access ssm or both): one document per account and region.
    "ssm_session_preferences": Kind(
        "AWS::SSM::Document",
        ("@name",),
        ("@name",),
        (),
        "arn:{partition}:ssm:{region}:{account}:document/{id}",
        "https://{region}.console.aws.amazon.com/systems-manager/session-manager/preferences?region={region}",
    ),
    # library/log_group: one group by its name, or several (names), each result with its name.
    "log_group": Kind(
        "AWS::Logs::LogGroup",
        ("name", "@name"),
        ("name", "@name"),
        ("log_group.arn",),
        "arn:{partition}:logs:{region}:{account}:log-group:{id}",
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups",
    ),
    # The read-only module names each secret in its differences (secret_name, secret_arn).
    "aws_drift_secrets": Kind(
        "AWS::SecretsManager::Secret", ("secret_name",), ("secret_name",), ("secret_arn",), "", _SECRET_CONSOLE
    ),
}


# A module that manages several kinds of resource names each result's kind (its `drift_kind`, a
# KINDS key): library/ec2_vpc_routing's internet gateway, route tables and gateway endpoint;
# library/iam_roles' roles, inline policies and instance profiles; library/elb_load_balancing's
# target group and load balancer; library/data_subnet_groups' RDS and ElastiCache subnet groups;
# library/ec2_app_hosts' instances.
KINDS_BY_RESULT: dict[str, tuple[str, ...]] = {
    "ec2_vpc_routing": ("ec2_vpc_igw", "ec2_vpc_route_table", "ec2_vpc_endpoint"),
    "iam_roles": ("iam_role", "iam_policy", "iam_instance_profile"),
    "elb_load_balancing": ("elb_target_group", "elb_application_lb"),
    "data_subnet_groups": ("rds_subnet_group", "elasticache_subnet_group"),
    "ec2_app_hosts": ("ec2_instance",),
}


def module_key(action: str) -> str:
    """`amazon.aws.ec2_vpc_net`, `ansible.legacy.aws_budget` and `aws_budget` -> the KINDS key."""
    return action.rsplit(".", 1)[-1]


def _lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _first(paths: tuple[str, ...], result: dict[str, Any], arguments: dict[str, Any]) -> str | None:
    for path in paths:
        value = _joined(path, result, arguments)
        if (
            isinstance(value, str | int)
            and not isinstance(value, bool)
            and str(value)
            and NO_LOG_VALUE not in str(value)
        ):
            return str(value)
    return None


def _joined(path: str, result: dict[str, Any], arguments: dict[str, Any]) -> Any:
    """A path, or paths joined by a separator ("@iam_name+/+@policy_name")."""
    if "+" in path:
        parts = path.split("+")
        values = [_joined(part, result, arguments) if index % 2 == 0 else part for index, part in enumerate(parts)]
        return "".join(str(value) for value in values) if all(value not in (None, "") for value in values) else None
    return _lookup(arguments, path[1:]) if path.startswith("@") else _lookup(result, path)


def _format(template: str, fields: dict[str, Any]) -> str | None:
    needed = re.findall(r"\{(\w+)\}", template)
    if not template or any(not fields.get(name) for name in needed):
        return None
    return template.format(**{name: fields[name] for name in needed})


def aws_identity(
    action: str, result: dict[str, Any], context: dict[str, str], index: dict[str, str]
) -> dict[str, Any] | None:
    """The resource a module's result is about, the way AWS names it; None for an unknown module."""
    # A module that manages several kinds (library/ec2_vpc_routing) names each result's kind.
    kind = KINDS.get(str(result.get("drift_kind") or "")) or KINDS.get(module_key(action))
    if kind is None:
        return None
    arguments = (result.get("invocation") or {}).get("module_args") or {}
    identity: dict[str, Any] = {"type": kind.type}
    identity["id"] = _first(kind.id, result, arguments)
    identity["name"] = _first(kind.name, result, arguments)
    if identity["id"] is None:
        identity["id"] = identity["name"]
    region = arguments.get("region") if isinstance(arguments.get("region"), str) else None
    identity["region"] = "global" if kind.global_service else region or context.get("region") or None
    fields = {
        "partition": context.get("partition") or "aws",
        "account": context.get("account"),
        "region": identity["region"] if identity["region"] != "global" else "us-east-1",
        "id": identity["id"],
        "name": identity["name"] or identity["id"],
    }
    arn = _first(kind.arn, result, arguments) or index.get(f"{kind.type}|{identity['name']}")
    identity["arn"] = arn or _format(kind.arn_format, fields)
    if kind.type == "AWS::IAM::RolePolicy":
        fields["parent_name"] = arguments.get("iam_name") or result.get("role_name")
        identity["parent_arn"] = _format("arn:{partition}:iam::{account}:role/{parent_name}", fields)
    if kind.type == "AWS::Route53::RecordSet":
        fields["zone"] = (
            arguments.get("hosted_zone_id")
            or result.get("hosted_zone_id")
            or _lookup(result, "resource_record_sets.0.hosted_zone_id")
            or index.get(f"AWS::Route53::HostedZone|{str(arguments.get('zone', '')).rstrip('.')}")
        )
    fields["arn"] = identity["arn"]
    fields["arn_id"] = str(identity["arn"] or "").rsplit("/", 1)[-1]
    identity["console"] = _format(kind.console, fields) if (context.get("partition") or "aws") == "aws" else None
    return identity


def host_identity(host: str, item: dict[str, Any], task: str) -> dict[str, Any]:
    """A difference on an app host: the host, and the file (or unit) it is in."""
    attribute = str(item.get("attribute") or "")
    path = attribute.removeprefix("content of ") if attribute.startswith("content of /") else None
    unit = attribute.split(" ", 1)[0] if re.match(r"^\S+\.(service|timer|socket) (state|enabled)$", attribute) else None
    return {"type": "host", "host": host, "path": path, "id": path or unit or task}


def index_result(action: str, result: dict[str, Any], index: dict[str, Any]) -> None:
    """Remember ids that tasks returned (a zone's id), for the results that name a resource by
    another's (a record by its zone)."""
    key = module_key(action)
    if key in ("route53_zone", "route53_public_zone") and result.get("zone_id"):
        index[f"AWS::Route53::HostedZone|{str(result.get('name', '')).rstrip('.')}"] = result["zone_id"]


def describe(identity: dict[str, Any]) -> str:
    """One line that names a resource: `AWS::EC2::SecurityGroup sg-0abc (mensetsu-dev-app)`."""
    if identity.get("type") == "host":
        return f"{identity['host']}: {identity['id']}"
    text = f"{identity['type']} {identity.get('id') or '(id hidden by no_log or not returned)'}"
    if identity.get("name") and identity["name"] != identity.get("id"):
        text += f" ({identity['name']})"
    return text


# --- Severity ---------------------------------------------------------------------------------
# Most security-relevant first: network exposure, IAM, encryption, public access; then the rest.
CATEGORIES = (
    "network exposure",
    "IAM",
    "encryption",
    "public access",
    "secrets",
    "data protection",
    "configuration",
    "tags",
)
SEVERITIES = ("critical", "high", "medium", "low")
_WORLD = ("0.0.0.0/0", "::/0")
_NETWORK_TYPES = {
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Subnet",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::InternetGateway",
}
_ATTRIBUTE_RULES: tuple[tuple[str, str, str], ...] = (
    (r"publicly_accessible|public_access|^policy$|map_public|public_ip", "public access", "critical"),
    (
        r"encrypt|kms|ssl|tls|viewer_?protocol|http_tokens|transit|minimum_protocol|certificate|signing",
        "encryption",
        "high",
    ),
    (r"backup|versioning|deletion_protection|lifecycle|snapshot|retention|multi_az", "data protection", "medium"),
    (r"(^|\.)tags(\.|$)|description|display_name", "tags", "low"),
)


def classify(identity: dict[str, Any], item: dict[str, Any]) -> tuple[str, str]:
    """(category, severity) of one difference."""
    kind, attribute = str(identity.get("type")), str(item.get("attribute") or "")
    values = json.dumps([item.get("actual"), item.get("extra")], default=str)
    if item.get("secret") or kind == "AWS::SecretsManager::Secret":
        return "secrets", "high"
    if kind == "AWS::EC2::SecurityGroup" and any(source in values for source in _WORLD):
        return "network exposure", "critical"
    if kind.startswith("AWS::IAM::"):
        return "IAM", "critical" if "AdministratorAccess" in values or '"*"' in values else "high"
    for pattern, category, severity in _ATTRIBUTE_RULES:
        if re.search(pattern, attribute, re.IGNORECASE):
            return category, severity
    if kind in _NETWORK_TYPES:
        return "network exposure", "high"
    if kind == "host" and re.search(r"ssh", attribute):
        return "network exposure", "high"
    return "configuration", "medium"


def resource_groups(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items grouped by resource, the most severe and security-relevant resource first."""
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        group = groups.setdefault(
            item["resource"], {"resource": item["resource"], "identity": item["identity"], "items": []}
        )
        group["items"].append(item)
    for group in groups.values():
        group["items"].sort(key=lambda item: (SEVERITIES.index(item["severity"]), CATEGORIES.index(item["category"])))
        group["severity"] = group["items"][0]["severity"]
        group["category"] = min((item["category"] for item in group["items"]), key=CATEGORIES.index)
    return sorted(
        groups.values(),
        key=lambda group: (SEVERITIES.index(group["severity"]), CATEGORIES.index(group["category"]), group["resource"]),
    )


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line per difference (resource, attribute, declared, actual), for the run's end and AWX."""
    return [
        f"[{item['severity']}] {item['resource']}: {item['attribute'] or '-'}: declared {_cell(item['declared'], 80)}, "
        f"actual {_cell(item['actual'], 80)}"
        for group in resource_groups(report["items"])
        for item in group["items"]
    ]


def stage_summary(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per stage with something to act on: its differences, its unmanaged resources, and
    the command that converges it (the differences; an unmanaged resource is removed or declared)."""
    stages: dict[str, dict[str, Any]] = {}
    base = str(report.get("fix_command") or "")
    for item in report.get("items", []):
        stage = item.get("stage") or "other"
        stages.setdefault(stage, {"stage": stage, "differences": 0, "unmanaged": 0})["differences"] += 1
    for item in report.get("unmanaged", []):
        stages.setdefault(item["stage"], {"stage": item["stage"], "differences": 0, "unmanaged": 0})["unmanaged"] += 1
    for entry in stages.values():
        entry["fix_command"] = f"{base} --tags {entry['stage']}" if entry["stage"] != "other" else base
    order = {stage: index for index, stage in enumerate(STAGE_ORDER)}
    return sorted(stages.values(), key=lambda entry: (order.get(entry["stage"], len(order)), entry["stage"]))


def attribution_text(attribution: dict[str, Any] | None) -> str:
    """Who wrote last, in one line: the newest write event, or why there is none."""
    if not attribution:
        return "not looked up"
    events = attribution.get("events") or []
    if not events:
        return str(attribution.get("reason") or attribution.get("status") or "unknown")
    latest = events[0]
    text = (
        f"{latest.get('time')} {latest.get('event_name')} by {latest.get('principal_arn')} "
        f"from {latest.get('source_ip')} ({latest.get('user_agent')})"
    )
    return text + (f", and {len(events) - 1} earlier write(s)" if len(events) > 1 else "")


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Drift report: {report['environment']}", ""]
    lines.append(f"- Run: {report['started']} to {report['finished']} (UTC), status **{report['status']}**")
    groups = resource_groups(report["items"])
    unmanaged = report.get("unmanaged") or []
    if report["status"] == "failed":
        lines.append("- The run itself failed: this report does NOT say there is no drift. Failures:")
        lines += [f"  - `{item['host']}` {item['task']}: {item['message']}" for item in report["failures"]]
    elif report["items"]:
        lines.append(
            f"- {len(report['items'])} differences in {len(groups)} resources, most security-relevant first; "
            f"a converge fixes them: `{report['fix_command']}`"
        )
    elif not unmanaged:
        lines.append("- No drift: the platform matches its declaration.")
    if unmanaged:
        lines.append(
            f"- {len(unmanaged)} unmanaged resources: in the environment's scope, declared nowhere; a converge "
            "does not remove them: remove each with its command, declare it, or allow it (`drift_unmanaged_allow`)"
        )
    if report.get("allowed_count"):
        lines.append(f"- {report['allowed_count']} undeclared resources are allow-listed (`drift_unmanaged_allow`)")
    stages = stage_summary(report)
    if stages and report["status"] != "failed":
        lines += ["", "**By stage** (what needs action, and the command that converges the stage):", ""]
        for entry in stages:
            counts = []
            if entry["differences"]:
                counts.append(f"{entry['differences']} differences: `{entry['fix_command']}`")
            if entry["unmanaged"]:
                counts.append(f"{entry['unmanaged']} unmanaged: remove or declare each (below)")
            lines.append(f"- **{entry['stage']}**: " + "; ".join(counts))
    for group in groups:
        identity = group["identity"]
        lines += ["", f"## {group['severity']}: {group['resource']}", ""]
        if identity.get("type") == "host":
            lines.append(
                f"- Host `{identity['host']}`" + (f", file `{identity['path']}`" if identity.get("path") else "")
            )
        else:
            facts = [f"region `{identity.get('region') or '?'}`"]
            if identity.get("arn"):
                facts.insert(0, f"ARN `{identity['arn']}`")
            if identity.get("parent_arn"):
                facts.append(f"in `{identity['parent_arn']}`")
            if identity.get("console"):
                facts.append(f"[console]({identity['console']})")
            lines.append("- " + ", ".join(facts))
        tasks = sorted({item["task"] for item in group["items"]})
        lines.append("- Managed by: " + "; ".join(f"`{task}`" for task in tasks))
        if group["items"][0].get("attribution") is not None and identity.get("type") != "host":
            lines.append(f"- Last write: {attribution_text(group['items'][0]['attribution'])}")
        lines += ["", "| Severity | Category | Attribute | Declared | Actual |", "|---|---|---|---|---|"]
        for item in group["items"]:
            cells = [
                item["severity"],
                item["category"],
                item["attribute"] or "-",
                _cell(item["declared"]),
                _cell(item["actual"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    if unmanaged:
        # A heading of its own level: the differences' sections are the `## ` ones.
        lines += ["", f"# Unmanaged resources: {report['environment']}"]
        for item in unmanaged:
            lines += ["", f"### {item['stage']}: {item['kind']} {item['id']}", ""]
            lines.append(f"- {item['description']}" + (f" (ARN `{item['arn']}`)" if item.get("arn") else ""))
            lines.append(f"- Remove: `{item['remove']}`")
            lines.append(f"- Or declare it: {item['declare']}")
            lines.append(f"- Last write: {attribution_text(item.get('attribution'))}")
    lines += ["", f"Machine-readable: `{report['json']}`", ""]
    return "\n".join(lines)


def _cell(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = text.replace("|", "\\|").replace("\n", "\\n")
    return f"`{text[:limit]}{'...' if len(text) > limit else ''}`"


def notification(report: dict[str, Any]) -> dict[str, str]:
    """What drift_notify publishes to the alert topic: a subject (SNS: at most 100 characters) and
    the summary by stage with the report's path."""
    subject = (
        f"Drift in {report.get('environment')}: {report.get('drift_count', 0)} differences, "
        f"{len(report.get('unmanaged', []))} unmanaged resources"
    )
    lines = [subject + f" (run {report.get('started')} UTC)", ""]
    for entry in stage_summary(report):
        counts = [f"{entry['differences']} differences"] if entry["differences"] else []
        counts += [f"{entry['unmanaged']} unmanaged"] if entry["unmanaged"] else []
        fix = f"; fix: {entry['fix_command']}" if entry["differences"] else ""
        lines.append(f"- {entry['stage']}: {', '.join(counts)}{fix}")
    lines += ["", f"Report: {report.get('markdown')} and {report.get('json')}"]
    return {"subject": subject[:100], "message": "\n".join(lines)}


def unmanaged_key(item: dict[str, Any]) -> str:
    """The attribution key of an unmanaged item."""
    return f"unmanaged {item['kind']} {item['id']}"


def unmanaged_lines(report: dict[str, Any]) -> list[str]:
    """The unmanaged resources, one line each, before the differences (the verdict's last lines
    stay the differences and the fix)."""
    unmanaged = report.get("unmanaged") or []
    if not unmanaged:
        return []
    lines = [f"UNMANAGED: {len(unmanaged)} resources in the environment's scope that nobody declared:"]
    lines += [f"  [{item['stage']}] {item['kind']} {item['id']}: {item['description']}" for item in unmanaged]
    return lines


def verdict_lines(report: dict[str, Any]) -> list[str]:
    """The run's last lines: what an operator (or a scheduler's log) needs without the report."""
    if report["status"] == "failed":
        lines = ["DRIFT RUN FAILED: this is NOT a drift result (the platform was not fully compared)."]
        lines += [f"  {item['host'] or '-'} | {item['task'] or '-'}: {item['message']}" for item in report["failures"]]
        lines.append("Fix the run (credentials, API errors, unreachable hosts) and run it again.")
    elif report["status"] == "drift":
        lines = unmanaged_lines(report)
        if report["items"]:
            lines.append(f"DRIFT: {report['drift_count']} differences between the declaration and the platform:")
            lines += [f"  {line}" for line in summary_lines(report)]
            lines.append(f"Fix: {report['fix_command']}")
        else:
            lines.append("DRIFT: 0 differences; the unmanaged resources above are in the environment's scope.")
            lines.append(
                "Fix: remove each with its command (the report), declare it, or allow it (drift_unmanaged_allow)"
            )
    else:
        lines = ["NO DRIFT: the platform matches its declaration."]
    lines.append(f"Report: {report['json']} and {report['markdown']}")
    return lines


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "drift_report"
    # Loaded without being enabled: a runner that sets its own callbacks (AWX) still gets the
    # report. It acts only for playbooks/drift.yml (v2_playbook_on_start).
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self) -> None:
        super().__init__()
        self.active = False
        self.started = datetime.datetime.now(datetime.UTC)
        self.items: list[dict[str, Any]] = []
        self.failures: list[dict[str, str]] = []
        self.inventory_name = ""
        self.context: dict[str, str] = {}
        self.index: dict[str, Any] = {}
        self.verdict_started = False
        self.report: dict[str, Any] | None = None
        self.pending: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
        self.unmanaged: list[dict[str, Any]] = []
        self.allowed_count = 0
        self.attribution: dict[str, dict[str, Any]] = {}
        self.attribution_ran = False

    def v2_playbook_on_start(self, playbook: Any) -> None:
        self.active = Path(playbook._file_name).resolve() == DRIFT_PLAYBOOK

    def v2_playbook_on_play_start(self, play: Any) -> None:
        if not self.active:
            return
        if not self.inventory_name:
            inventory = play.get_variable_manager()._inventory
            sources = [source for source in (inventory._sources if inventory else []) if source]
            if sources:
                self.inventory_name = Path(sources[0].rstrip("/")).name
        if (play.vars or {}).get(ATTRIBUTION_VAR) is True and not self.verdict_started:
            # Everything is compared: name the resources and hand the play what to look up.
            self.name_resources()
            play.vars[ATTRIBUTION_RESOURCES] = self.lookups()
        if (play.vars or {}).get(VERDICT_VAR) is True and not self.verdict_started:
            # The verdict play: everything is compared. Write the report and hand the play its result.
            self.verdict_started = True
            self.write_report(self.status())
            play.vars["drift_report"] = self.play_summary()

    @property
    def environment(self) -> str:
        return self.get_option("environment") or self.inventory_name or "unknown"

    def status(self) -> str:
        return "failed" if self.failures else "drift" if self.items or self.unmanaged else "clean"

    def lookups(self) -> list[dict[str, str]]:
        """The CloudTrail lookups of the attribution play: one per AWS resource with a difference
        (its ARN for the services whose events name it so, its id otherwise), one per unmanaged item."""
        found: dict[str, str] = {}
        for item in self.items:
            identity = item.get("identity") or {}
            if identity.get("type") in (None, "host", "unknown") or not identity.get("id"):
                continue
            by_arn = str(identity["type"]).startswith(LOOKUP_BY_ARN) and identity.get("arn")
            value = identity["arn"] if by_arn else str(identity["id"]).split(" ", 1)[0].split("/", 1)[0]
            found.setdefault(item["resource"], value)
        for item in self.unmanaged:
            found.setdefault(unmanaged_key(item), item.get("lookup") or item["id"])
        return [{"key": key, "lookup": value} for key, value in found.items()]

    def attach_attribution(self) -> None:
        """Every item gets the attribution of its resource, or why it has none."""
        missing = {
            "status": "unavailable",
            "reason": "not looked up: the attribution play did not run"
            if not self.attribution_ran
            else "not looked up",
            "events": [],
        }
        for item in self.items:
            if (item.get("identity") or {}).get("type") == "host":
                item["attribution"] = {
                    "status": "unavailable",
                    "reason": "a host's file or service: CloudTrail records AWS API calls only",
                    "events": [],
                }
            else:
                item["attribution"] = self.attribution.get(item["resource"], missing)
        for item in self.unmanaged:
            item["attribution"] = self.attribution.get(unmanaged_key(item), missing)

    def _record(self, result: Any, item_result: dict[str, Any], index: int | None) -> None:
        task = result._task
        if isinstance(task, Handler):
            return  # a consequence of a difference already reported (a restart after a file's change)
        action = getattr(task, "resolved_action", None) or task.action
        label = item_result.get("_ansible_item_label")
        if label is None and index is not None:
            # A module's own results (library/ec2_security_groups, ec2_vpc_routing) may name themselves.
            label = item_result.get("label") or f"item {index + 1}"
        name = task.get_name().strip()
        managed_by = f"{name} [{label}]" if label is not None else name
        host = result._host.get_name()
        role = task._role.get_name() if getattr(task, "_role", None) else ""
        stage = ROLE_STAGES.get(role, "other")
        for item in result_items(item_result, action):
            entry = {"task": managed_by, "host": host, "stage": stage, **item}
            if entry.get("secret"):
                entry["note"] = "a secret or a no_log setting differs; its values are never reported"
            # Named when the report is written: a later task may have returned an id the name needs
            # (a record's zone). A read-only drift module may name the resource of each difference
            # itself (aws_drift_secrets).
            self.pending.append((entry, action, {**item_result, **item}))
            self.items.append(entry)

    def name_resources(self) -> None:
        """Give every item its resource's identity, category and severity."""
        for entry, action, result in self.pending:
            found = aws_identity(action, result, self.context, self.index)
            if found is None and entry["host"] != "localhost":
                found = host_identity(entry["host"], entry, entry["task"])
            if found is None:
                found = self._unknown(entry["task"])
            category, severity = classify(found, entry)
            entry.update(resource=describe(found), identity=found, category=category, severity=severity)
        self.pending = []

    def _unknown(self, managed_by: str) -> dict[str, Any]:
        """A module without an entry in KINDS: named by its task (add the module to KINDS)."""
        return {
            "type": "unknown",
            "id": managed_by,
            "name": None,
            "arn": None,
            "region": self.context.get("region"),
            "console": None,
        }

    def v2_runner_on_ok(self, result: Any) -> None:
        if not self.active or self.verdict_started:
            return
        data = result._result
        action = getattr(result._task, "resolved_action", None) or result._task.action
        if module_key(action) == UNMANAGED_MODULE and isinstance(data.get("unmanaged"), list):
            self.unmanaged += [dict(item) for item in data["unmanaged"]]
            self.allowed_count += len(data.get("allowed") or [])
            return
        if module_key(action) == ATTRIBUTION_MODULE and isinstance(data.get("attribution"), dict):
            self.attribution.update(data["attribution"])
            self.attribution_ran = True
            return
        if isinstance((data.get("ansible_facts") or {}).get(CONTEXT_FACT), dict):
            self.context = {key: str(value) for key, value in data["ansible_facts"][CONTEXT_FACT].items()}
        if isinstance(data.get("results"), list):
            for index, item_result in enumerate(data["results"]):
                if isinstance(item_result, dict):
                    index_result(action, item_result, self.index)
                    if item_result.get("changed"):
                        self._record(result, item_result, index)
        else:
            index_result(action, data, self.index)
            if data.get("changed"):
                self._record(result, data, None)

    def _failure(self, result: Any, kind: str) -> None:
        if not self.active or self.verdict_started:
            return  # the verdict play's own failure is the verdict, not a failed comparison
        data = result._result
        message = HIDDEN if data.get("censored") else str(data.get("msg") or data.get("message") or kind)
        self.failures.append({"host": result._host.get_name(), "task": result._task.get_name(), "message": message})

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        if not ignore_errors:
            self._failure(result, "failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._failure(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self.active:
            return
        if not self.verdict_started:
            failed = any(stats.failures.get(host) or stats.dark.get(host) for host in stats.processed)
            if failed and not self.failures:
                self.failures.append({"host": "", "task": "", "message": "a host failed or was unreachable"})
            if not self.failures:
                message = "the run ended before its verdict play (the last play of playbooks/drift.yml) ran"
                self.failures.append({"host": "", "task": "", "message": message})
            self.write_report("failed")
        # Printed when ansible-playbook exits, after every other callback's summary (profile_tasks
        # prints its timings at the recap too): the verdict is the run's last lines.
        atexit.register(self._print_verdict)

    def _print_verdict(self) -> None:
        if self.report is not None:
            self._display.display("\n".join(["", *verdict_lines(self.report)]))

    def play_summary(self) -> dict[str, Any]:
        """What the verdict play publishes (set_stats: AWX's job artifacts) and fails with."""
        report = self.report or {}
        return {
            "status": report["status"],
            "drift_count": report["drift_count"],
            "resource_count": len({item["resource"] for item in self.items}),
            "differences": summary_lines(report),
            "unmanaged_count": len(report.get("unmanaged", [])),
            "unmanaged": [line.strip() for line in unmanaged_lines(report)[1:]],
            "failures": [f"{item['host']} | {item['task']}: {item['message']}" for item in self.failures],
            "fix_command": report["fix_command"],
            "json": report["json"],
            "markdown": report["markdown"],
            "verdict": "\n".join(verdict_lines(report)),
            "notification": notification(report),
        }

    def write_report(self, status: str) -> None:
        self.name_resources()
        self.attach_attribution()
        finished = datetime.datetime.now(datetime.UTC)
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        directory = Path(self.get_option("report_dir"))
        directory.mkdir(parents=True, exist_ok=True)
        base = directory / f"drift-{self.environment}-{stamp}"
        self.report = {
            "environment": self.environment,
            "status": status,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "account": self.context.get("account"),
            "region": self.context.get("region"),
            "drift_count": len(self.items),
            "fix_command": f"ansible-playbook site.yml -i inventories/{self.environment}",
            "items": self.items,
            "unmanaged": self.unmanaged,
            "unmanaged_count": len(self.unmanaged),
            "allowed_count": self.allowed_count,
            "failures": self.failures,
            "json": str(base.with_suffix(".json")),
            "markdown": str(base.with_suffix(".md")),
        }
        self.report["stages"] = stage_summary(self.report)
        base.with_suffix(".json").write_text(json.dumps(self.report, indent=2, sort_keys=True, default=str) + "\n")
        base.with_suffix(".md").write_text(markdown(self.report))
        latest = os.environ.get("DRIFT_REPORT_POINTER")
        if latest:
            Path(latest).write_text(str(base.with_suffix(".json")) + "\n")
        self._display.display(
            f"Drift report ({status}, {len(self.items)} differences, {len(self.unmanaged)} unmanaged): "
            f"{base}.json and .md"
        )
