#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_unmanaged_resources_info
short_description: List what exists in an environment's scope on AWS but is not declared
version_added: 1.0.0
description:
  - Reads, within one environment's own scope (its VPC and subnets, hosted zone, buckets, the app
    role, the secrets prefix, the distribution, its tags), every
    resource or sub-resource of the kinds below, and returns those the declaration does not name.
  - "Kinds: security groups in the VPC and their attachments to network interfaces, instances and
    network interfaces in the subnets, managed and inline policies on the app role, statements of
    the buckets' policies (by Sid, or by content when a statement has none), Route 53 records in
    the zone (its apex NS and SOA and ACM's validation CNAMEs excluded), CloudFront origins and
    cache behaviors, secrets under the prefix, CloudWatch alarms and dashboards tagged with the
    environment."
  - "Not scanned: the load balancer's listeners and listener rules and the target group's targets.
    The compute stage's module (elb_load_balancing) compares every one of them with the declaration
    (an undeclared one is its drift, and a converge removes it), so the scan would report them a
    second time."
  - Every read runs in a thread pool, one client per service (shared by the threads, its
    connections kept alive). Sends only Describe, List and Get requests, in check mode or not; a
    converge does not remove an unmanaged resource, so C(changed) is always false.
  - Each item says how to remove it (the AWS CLI command) and where it would be declared.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  environment:
    description: The environment's name (the C(Environment) tag of alarms and dashboards, the inventory of the hints).
    type: str
    required: true
  stages:
    description: Scan only the kinds of these stages (the drift run's tags); empty scans all.
    type: list
    elements: str
    default: []
  vpc_id:
    description: The environment's VPC; its security groups and network interfaces are scanned.
    type: str
    default: ""
  subnet_ids:
    description: The environment's subnets; their instances are scanned.
    type: list
    elements: str
    default: []
  hosted_zone_id:
    description: The environment's hosted zone.
    type: str
    default: ""
  buckets:
    description: The environment's buckets, whose policies' statements are scanned.
    type: list
    elements: str
    default: []
  role_name:
    description: The app hosts' IAM role.
    type: str
    default: ""
  secrets_prefix:
    description: The environment's secrets prefix (secrets named C(<prefix>/...)).
    type: str
    default: ""
  distribution_id:
    description: The CloudFront distribution's id.
    type: str
    default: ""
  tags:
    description: The environment's tags; alarms and dashboards carrying all of them are in scope.
    type: dict
    default: {}
  name_prefix:
    description: The environment's name prefix; alarms and dashboards named C(<prefix>) or C(<prefix>-...) are in
      scope too.
    type: str
    default: ""
  declared:
    description: What the repository declares, as the roles returned it.
    type: dict
    default: {}
    suboptions:
      security_groups: {description: Declared security group ids., type: list, elements: str, default: []}
      instances: {description: Declared instance ids (targets too)., type: list, elements: str, default: []}
      managed_policies:
        description: Managed policies declared on the role (ARNs, or AWS managed policy names).
        type: list
        elements: str
        default: []
      inline_policies: {description: Inline policy names declared on the role., type: list, elements: str, default: []}
      bucket_policies:
        description: The declared policy of each bucket (a JSON document or text); its statements' Sids are declared.
        type: dict
        default: {}
      records:
        description: Declared records as C(<name> <type>) (names with or without the final dot).
        type: list
        elements: str
        default: []
      origins: {description: Declared CloudFront origin ids., type: list, elements: str, default: []}
      behaviors:
        description: Declared CloudFront cache behaviors' path patterns (the default behavior is C(*)).
        type: list
        elements: str
        default: ["*"]
      secrets: {description: Declared secret names., type: list, elements: str, default: []}
      alarms: {description: Declared alarm names., type: list, elements: str, default: []}
      dashboards: {description: Declared dashboard names., type: list, elements: str, default: []}
  allow:
    description:
      - Known extras, expected and not reported (C(drift_unmanaged_allow)). Each is an id, or
        C(<kind>:<id>); shell-style wildcards allowed (C(security_group:sg-0org*)).
    type: list
    elements: str
    default: []
  max_workers:
    description: Scopes read at once (the default reads every scope at once).
    type: int
    default: 12
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: List what exists in the environment's scope but is not declared
  aws_unmanaged_resources_info:
    environment: dev
    vpc_id: vpc-0abc
    subnet_ids: [subnet-0a, subnet-0b]
    role_name: mensetsu-dev-app
    secrets_prefix: mensetsu/dev
    declared:
      security_groups: [sg-0a, sg-0b]
      managed_policies: [AmazonSSMManagedInstanceCore]
      inline_policies: [app-access]
      secrets: [mensetsu/dev/db]
    allow: ["security_group:sg-0org*"]
"""

RETURN = r"""
unmanaged:
  description: Every undeclared resource or sub-resource in scope that is not allow-listed.
  returned: always
  type: list
  elements: dict
  contains:
    stage: {description: The drift run's stage (its tag)., type: str, sample: security}
    kind: {description: What it is., type: str, sample: security_group}
    type: {description: The CloudFormation type of the resource or its parent., type: str, sample: AWS::EC2::VPC}
    id: {description: Its id., type: str, sample: sg-0123}
    name: {description: Its name., type: str}
    arn: {description: Its ARN where it has one (or its parent's)., type: str}
    description: {description: One line that says what it is., type: str}
    remove: {description: The AWS CLI command that removes it., type: str}
    declare: {description: Where in the inventory it would be declared., type: str}
    lookup:
      description: The name CloudTrail's events give it (or its parent), for the attribution.
      type: str
  sample: [{"stage": "security", "kind": "security_group", "id": "sg-0123", "name": "by-hand",
            "description": "security group by-hand in vpc-0abc, not in table 4.4",
            "remove": "aws ec2 delete-security-group --group-id sg-0123 --region ap-northeast-1",
            "declare": "inventories/dev: add it to drift_unmanaged_allow (security groups are table 4.4)"}]
allowed:
  description: The undeclared items the allow-list marks as expected (not reported).
  returned: always
  type: list
  elements: dict
scanned:
  description: The kinds that were read.
  returned: always
  type: list
  elements: str
requests:
  description: How many API requests the scan sent.
  returned: always
  type: int
"""

import fnmatch
import json
import shlex
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule

# stage -> kinds read for it
STAGES: dict[str, tuple[str, ...]] = {
    "security": ("security_group", "security_group_attachment"),
    "network": ("network_interface",),
    "compute": ("instance",),
    "iam": ("managed_policy", "inline_policy"),
    "storage": ("bucket_policy_statement",),
    "dns": ("record",),
    "edge": ("origin", "behavior"),
    "secrets": ("secret",),
    "monitoring": ("alarm", "dashboard"),
}
STAGE_OF = {kind: stage for stage, kinds in STAGES.items() for kind in kinds}
# Network interfaces AWS services create for a resource they manage (load balancer, database,
# cache, endpoints, NAT): they belong to that resource, not to someone's hand.
SERVICE_INTERFACE_TYPES = {"interface", ""}
SERVICE_DESCRIPTIONS = ("ELB ", "RDSNetworkInterface", "ElastiCache", "VPC Endpoint Interface", "Interface for NAT")
AWS_POLICY = "arn:{partition}:iam::aws:policy/{name}"


class Scan:
    """One scan: the clients, the scope, the declaration; collects items from many threads."""

    def __init__(self, params: dict[str, Any], clients: Callable[[str, str | None], Any], region: str) -> None:
        self.params = params
        self.declared = params.get("declared") or {}
        self.region = region
        self._clients = clients
        self._lock = threading.Lock()
        self.items: list[dict[str, Any]] = []
        self.requests = 0
        self.partition = "aws"
        self.stages: set[str] = set(STAGES)

    def client(self, service: str, region: str | None = None) -> Any:
        return self._clients(service, region)

    def call(self, client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            self.requests += 1
        return getattr(client, operation)(**kwargs)

    def pages(self, client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
        found: list[Any] = []
        for page in client.get_paginator(operation).paginate(**kwargs):
            with self._lock:
                self.requests += 1
            found += page.get(key, [])
        return found

    def add(self, kind: str, type_: str, id_: str, description: str, remove: str, declare: str, **extra: Any) -> None:
        item = {
            "stage": STAGE_OF[kind],
            "kind": kind,
            "type": type_,
            "id": id_,
            "name": extra.pop("name", None),
            "arn": extra.pop("arn", None),
            "description": description,
            "remove": remove,
            "declare": declare,
        }
        item["lookup"] = cloudtrail_name(item)
        with self._lock:
            self.items.append(item)

    def regional(self, command: str) -> str:
        return f"{command} --region {self.region}"

    @property
    def inventory(self) -> str:
        return f"inventories/{self.params['environment']}/group_vars/all/"

    def allow_hint(self, item_id: str, kind: str) -> str:
        return f"or, if it is expected, add '{kind}:{item_id}' to drift_unmanaged_allow in {self.inventory}"


# The ResourceName CloudTrail's events give each kind: the resource's own id, or its parent's.
_BY_ARN = {"secret"}
_BY_PARENT = {"security_group_attachment", "managed_policy", "inline_policy", "bucket_policy_statement"}
_BY_PARENT |= {"origin", "behavior"}


def cloudtrail_name(item: dict[str, Any]) -> str:
    """What aws_drift_attribution_info looks up (LookupAttributes ResourceName) for an item."""
    if item["kind"] in _BY_ARN and item.get("arn"):
        return item["arn"]
    if item["kind"] in _BY_PARENT:
        return item["id"].split("/", 1)[0]
    if item["kind"] == "record" and item.get("arn"):
        return item["arn"].rsplit("/", 1)[-1]  # the hosted zone's id
    return item["id"]


# --- The readers: one function per scope, each run in the pool -----------------------------------


def scan_vpc(scan: Scan) -> None:
    """Security groups in the VPC, their attachments, and network interfaces no declared resource owns."""
    vpc = scan.params["vpc_id"]
    ec2 = scan.client("ec2")
    in_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    declared_groups = set(scan.declared.get("security_groups") or [])
    declared_instances = set(scan.declared.get("instances") or [])
    with ThreadPoolExecutor(max_workers=2) as pool:
        groups_future = pool.submit(scan.pages, ec2, "describe_security_groups", "SecurityGroups", Filters=in_vpc)
        interfaces_future = pool.submit(
            scan.pages, ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=in_vpc
        )
        groups, interfaces = groups_future.result(), interfaces_future.result()
    known_groups = declared_groups | {g["GroupId"] for g in groups if g.get("GroupName") == "default"}
    if "security" in scan.stages:
        for group in groups:
            if group["GroupId"] in known_groups:
                continue
            scan.add(
                "security_group",
                "AWS::EC2::SecurityGroup",
                group["GroupId"],
                f"security group {group.get('GroupName')} in {vpc} ({len(group.get('IpPermissions', []))} inbound "
                "rules), not one of table 4.4's groups",
                scan.regional(f"aws ec2 delete-security-group --group-id {group['GroupId']}"),
                "table 4.4 (roles/aws_security_groups) declares the groups; "
                f"{scan.allow_hint(group['GroupId'], 'security_group')}",
                name=group.get("GroupName"),
                arn=f"arn:{scan.partition}:ec2:{scan.region}:{group.get('OwnerId')}:security-group/{group['GroupId']}",
            )
        for interface in interfaces:
            attached = [g["GroupId"] for g in interface.get("Groups", [])]
            extra = [group for group in attached if group not in known_groups]
            if not extra or not _declared_interface(interface, declared_instances):
                continue  # an undeclared interface is reported as one item below
            kept = [group for group in attached if group not in extra] or sorted(known_groups - {""})[:1]
            for group in extra:
                scan.add(
                    "security_group_attachment",
                    "AWS::EC2::SecurityGroup",
                    f"{interface['NetworkInterfaceId']}/{group}",
                    f"security group {group} attached to {interface['NetworkInterfaceId']}"
                    f" ({_interface_owner(interface)}), which declares {sorted(set(attached) - set(extra))}",
                    scan.regional(
                        "aws ec2 modify-network-interface-attribute --network-interface-id "
                        f"{interface['NetworkInterfaceId']} --groups {' '.join(kept)}"
                    ),
                    f"the resource's security groups (roles/aws_security_groups, table 4.4); "
                    f"{scan.allow_hint(interface['NetworkInterfaceId'] + '/' + group, 'security_group_attachment')}",
                )
    if "network" in scan.stages:
        for interface in interfaces:
            if _declared_interface(interface, declared_instances) or _owned_by_instance(interface):
                continue
            eni = interface["NetworkInterfaceId"]
            attachment = interface.get("Attachment") or {}
            remove = scan.regional(f"aws ec2 delete-network-interface --network-interface-id {eni}")
            if attachment.get("AttachmentId"):
                detach = scan.regional(f"aws ec2 detach-network-interface --attachment-id {attachment['AttachmentId']}")
                remove = f"{detach} && {remove}"
            scan.add(
                "network_interface",
                "AWS::EC2::NetworkInterface",
                eni,
                f"network interface {eni} ({interface.get('PrivateIpAddress')}) in {interface.get('SubnetId')}, "
                f"{_interface_owner(interface)}",
                remove,
                f"nothing in the repository creates interfaces of its own; {scan.allow_hint(eni, 'network_interface')}",
                arn=f"arn:{scan.partition}:ec2:{scan.region}:{interface.get('OwnerId')}:network-interface/{eni}",
            )


def _owned_by_instance(interface: dict[str, Any]) -> bool:
    """An instance's primary interface: the instance is the item (declared or not)."""
    attachment = interface.get("Attachment") or {}
    return bool(attachment.get("InstanceId")) and attachment.get("DeviceIndex", 0) == 0


def _declared_interface(interface: dict[str, Any], declared_instances: set[str]) -> bool:
    """A declared instance's primary interface, or one an AWS service made for its own resource."""
    attachment = interface.get("Attachment") or {}
    if attachment.get("InstanceId") in declared_instances and attachment.get("DeviceIndex", 0) == 0:
        return True
    if interface.get("RequesterManaged") or interface.get("InterfaceType", "interface") not in SERVICE_INTERFACE_TYPES:
        return True
    return str(interface.get("Description") or "").startswith(SERVICE_DESCRIPTIONS)


def _interface_owner(interface: dict[str, Any]) -> str:
    attachment = interface.get("Attachment") or {}
    if attachment.get("InstanceId"):
        return f"attached to {attachment['InstanceId']} as device {attachment.get('DeviceIndex')}"
    return f"{interface.get('Status', 'detached')}, description {interface.get('Description') or '(none)'!r}"


def scan_instances(scan: Scan) -> None:
    declared = set(scan.declared.get("instances") or [])
    subnets = scan.params["subnet_ids"]
    filters = [
        {"Name": "subnet-id", "Values": subnets},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
    ]
    reservations = scan.pages(scan.client("ec2"), "describe_instances", "Reservations", Filters=filters)
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            if instance["InstanceId"] in declared:
                continue
            name = next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == "Name"), None)
            scan.add(
                "instance",
                "AWS::EC2::Instance",
                instance["InstanceId"],
                f"{instance.get('InstanceType')} instance {name or instance['InstanceId']} "
                f"({instance['State']['Name']}) "
                f"in {instance.get('SubnetId')}",
                scan.regional(f"aws ec2 terminate-instances --instance-ids {instance['InstanceId']}"),
                f"app_instance_count in {scan.inventory}sizes.yml (the app hosts); "
                f"{scan.allow_hint(instance['InstanceId'], 'instance')}",
                name=name,
                arn=f"arn:{scan.partition}:ec2:{scan.region}:{reservation.get('OwnerId')}:instance/{instance['InstanceId']}",
            )


def scan_role(scan: Scan) -> None:
    role = scan.params["role_name"]
    iam = scan.client("iam")
    declared = {
        name if name.startswith("arn:") else AWS_POLICY.format(partition=scan.partition, name=name)
        for name in scan.declared.get("managed_policies") or []
    }
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            attached_read = pool.submit(
                scan.pages, iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role
            )
            inline_read = pool.submit(scan.pages, iam, "list_role_policies", "PolicyNames", RoleName=role)
            attached, inline = attached_read.result(), inline_read.result()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return  # the missing role is a difference the comparison reports
        raise
    for policy in attached:
        if policy["PolicyArn"] in declared:
            continue
        scan.add(
            "managed_policy",
            "AWS::IAM::Role",
            f"{role}/{policy['PolicyArn']}",
            f"managed policy {policy['PolicyName']} attached to the role {role}",
            f"aws iam detach-role-policy --role-name {role} --policy-arn {policy['PolicyArn']}",
            f"aws_iam_managed_policies in {scan.inventory}; {scan.allow_hint(policy['PolicyArn'], 'managed_policy')}",
            name=policy["PolicyName"],
            arn=policy["PolicyArn"],
        )
    for name in inline:
        if name in set(scan.declared.get("inline_policies") or []):
            continue
        scan.add(
            "inline_policy",
            "AWS::IAM::RolePolicy",
            f"{role}/{name}",
            f"inline policy {name} on the role {role}",
            f"aws iam delete-role-policy --role-name {role} --policy-name {name}",
            "roles/aws_iam/templates/app-policy.json.j2 (the role's one inline policy); "
            f"{scan.allow_hint(f'{role}/{name}', 'inline_policy')}",
            name=name,
        )


def statement_key(statement: dict[str, Any]) -> str:
    """A statement's identity: its Sid, or its content when it has none."""
    return statement.get("Sid") or json.dumps(statement, sort_keys=True)


def _statements(policy: Any) -> list[dict[str, Any]]:
    if isinstance(policy, str):
        policy = json.loads(policy) if policy.strip() else {}
    statements = (policy or {}).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def scan_bucket(scan: Scan, bucket: str) -> None:
    try:
        policy = json.loads(scan.call(scan.client("s3"), "get_bucket_policy", Bucket=bucket)["Policy"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchBucketPolicy", "NoSuchBucket"):
            return
        raise
    declared = {statement_key(s) for s in _statements((scan.declared.get("bucket_policies") or {}).get(bucket))}
    statements = _statements(policy)
    extra = [s for s in statements if statement_key(s) not in declared]
    for statement in extra:
        rest = {**policy, "Statement": [s for s in statements if s is not statement]}
        if rest["Statement"]:
            document = shlex.quote(json.dumps(rest, separators=(",", ":")))
            remove = f"aws s3api put-bucket-policy --bucket {bucket} --policy {document}"
        else:
            remove = f"aws s3api delete-bucket-policy --bucket {bucket}"
        sid = statement.get("Sid") or "(no Sid)"
        scan.add(
            "bucket_policy_statement",
            "AWS::S3::BucketPolicy",
            f"{bucket}/{statement.get('Sid') or statement_key(statement)[:80]}",
            f"statement {sid} of {bucket}'s policy: {statement.get('Effect')} {statement.get('Action')} "
            f"to {json.dumps(statement.get('Principal'))}",
            remove,
            f"the bucket's policy template (roles/aws_storage or roles/aws_edge templates/); "
            f"{scan.allow_hint(bucket + '/' + str(statement.get('Sid') or ''), 'bucket_policy_statement')}",
            name=statement.get("Sid"),
            arn=f"arn:{scan.partition}:s3:::{bucket}",
        )


def _record_name(name: str) -> str:
    return name.rstrip(".").lower().replace("\\052", "*") + "."


def scan_zone(scan: Scan) -> None:
    zone = scan.params["hosted_zone_id"].rsplit("/", 1)[-1]
    route53 = scan.client("route53", "us-east-1")
    with ThreadPoolExecutor(max_workers=2) as pool:
        zone_read = pool.submit(scan.call, route53, "get_hosted_zone", Id=zone)
        records_read = pool.submit(
            scan.pages, route53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone
        )
        apex = _record_name(zone_read.result()["HostedZone"]["Name"])
        records = records_read.result()
    declared = {
        f"{_record_name(name)} {type_}"
        for name, _space, type_ in (entry.rpartition(" ") for entry in scan.declared.get("records") or [])
    }
    validated = {entry.split(" ", 1)[0] for entry in declared} | {apex}
    for record in records:
        name, type_ = _record_name(record["Name"]), record["Type"]
        if name == apex and type_ in ("NS", "SOA"):
            continue
        if (
            type_ == "CNAME"
            and name.startswith("_")
            and (
                name.split(".", 1)[1] in validated
                or any(
                    str(value.get("Value", "")).rstrip(".").endswith("acm-validations.aws")
                    for value in record.get("ResourceRecords", [])
                )
            )
        ):
            continue  # ACM's DNS validation record (of a declared name, or pointing at ACM)
        if f"{name} {type_}" in declared:
            continue
        target = (record.get("AliasTarget") or {}).get("DNSName") or ", ".join(
            value["Value"] for value in record.get("ResourceRecords", [])
        )
        change = {"Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]}
        scan.add(
            "record",
            "AWS::Route53::RecordSet",
            f"{name.rstrip('.')} {type_}",
            f"{type_} record {name} -> {target}",
            f"aws route53 change-resource-record-sets --hosted-zone-id {zone} --change-batch "
            f"{shlex.quote(json.dumps(change, separators=(',', ':')))}",
            "roles/aws_dns writes the apex, www and api records only; "
            f"{scan.allow_hint(name.rstrip('.') + '*', 'record')}",
            name=name,
            arn=f"arn:{scan.partition}:route53:::hostedzone/{zone}",
        )


def scan_distribution(scan: Scan) -> None:
    distribution = scan.params["distribution_id"]
    cloudfront = scan.client("cloudfront", "us-east-1")
    try:
        answer = scan.call(cloudfront, "get_distribution", Id=distribution)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchDistribution":
            return
        raise
    config, etag = answer["Distribution"]["DistributionConfig"], answer.get("ETag", "")
    arn = answer["Distribution"].get("ARN")
    origins = set(scan.declared.get("origins") or [])
    behaviors = set(scan.declared.get("behaviors") or ["*"])
    update = (
        f"aws cloudfront get-distribution-config --id {distribution} --query DistributionConfig > "
        f"/tmp/{distribution}.json"
        " && jq {filter} /tmp/{distribution}.json > /tmp/{distribution}-fixed.json"
        f" && aws cloudfront update-distribution --id {distribution} --if-match {etag}"
        f" --distribution-config file:///tmp/{distribution}-fixed.json"
    )
    for origin in (config.get("Origins") or {}).get("Items") or []:
        if origin["Id"] in origins:
            continue
        jq = f'\'.Origins.Items |= map(select(.Id != "{origin["Id"]}"))'
        jq += " | .Origins.Quantity = (.Origins.Items | length)'"
        scan.add(
            "origin",
            "AWS::CloudFront::Distribution",
            f"{distribution}/origin/{origin['Id']}",
            f"origin {origin['Id']} ({origin.get('DomainName')}) of the distribution {distribution}",
            update.replace("{filter}", jq).replace("{distribution}", distribution),
            f"roles/aws_edge declares the static bucket's origin only; {scan.allow_hint(origin['Id'], 'origin')}",
            name=origin["Id"],
            arn=arn,
        )
    for behavior in (config.get("CacheBehaviors") or {}).get("Items") or []:
        if behavior["PathPattern"] in behaviors:
            continue
        jq = (
            f'\'.CacheBehaviors.Items |= map(select(.PathPattern != "{behavior["PathPattern"]}"))'
            " | .CacheBehaviors.Quantity = (.CacheBehaviors.Items | length)'"
        )
        scan.add(
            "behavior",
            "AWS::CloudFront::Distribution",
            f"{distribution}/behavior/{behavior['PathPattern']}",
            f"cache behavior {behavior['PathPattern']} -> origin {behavior.get('TargetOriginId')} of the "
            f"distribution {distribution}",
            update.replace("{filter}", jq).replace("{distribution}", distribution),
            "roles/aws_edge declares the default behavior only; "
            f"{scan.allow_hint(behavior['PathPattern'], 'behavior')}",
            name=behavior["PathPattern"],
            arn=arn,
        )


def scan_secrets(scan: Scan) -> None:
    prefix = scan.params["secrets_prefix"].rstrip("/") + "/"
    declared = set(scan.declared.get("secrets") or [])
    secrets = scan.pages(
        scan.client("secretsmanager"), "list_secrets", "SecretList", Filters=[{"Key": "name", "Values": [prefix]}]
    )
    for secret in secrets:
        # the name filter matches a prefix of any word: keep the environment's own prefix only
        if not secret["Name"].startswith(prefix) or secret["Name"] in declared or secret.get("DeletedDate"):
            continue
        scan.add(
            "secret",
            "AWS::SecretsManager::Secret",
            secret["Name"],
            f"secret {secret['Name']} (last changed {secret.get('LastChangedDate', '?')})",
            scan.regional(f"aws secretsmanager delete-secret --secret-id {secret['ARN']} --recovery-window-in-days 30"),
            f"api_key_secrets in {scan.inventory} (the secrets under {prefix}); "
            f"{scan.allow_hint(secret['Name'], 'secret')}",
            name=secret["Name"],
            arn=secret["ARN"],
        )


def _in_scope(scan: Scan, cloudwatch: Any, name: str, arn: str) -> bool:
    """An alarm or dashboard named with the environment's prefix, or tagged with all its tags."""
    prefix = scan.params.get("name_prefix") or ""
    if prefix and (name == prefix or name.startswith(prefix + "-")):
        return True
    wanted = {str(k): str(v) for k, v in (scan.params.get("tags") or {}).items()}
    if not wanted:
        return False
    try:
        tags = scan.call(cloudwatch, "list_tags_for_resource", ResourceARN=arn).get("Tags", [])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False  # deleted meanwhile (moto 5.2.5 answers this for every dashboard: docs/emulator.md)
        raise
    have = {tag["Key"]: tag["Value"] for tag in tags}
    return all(have.get(key) == value for key, value in wanted.items())


def scan_monitoring(scan: Scan) -> None:
    cloudwatch = scan.client("cloudwatch")
    declared_alarms = set(scan.declared.get("alarms") or [])
    declared_dashboards = set(scan.declared.get("dashboards") or [])
    with ThreadPoolExecutor(max_workers=2) as pool:
        alarms_future = pool.submit(scan.pages, cloudwatch, "describe_alarms", "MetricAlarms")
        dashboards_future = pool.submit(scan.pages, cloudwatch, "list_dashboards", "DashboardEntries")
        alarms = [a for a in alarms_future.result() if a["AlarmName"] not in declared_alarms]
        dashboards = [d for d in dashboards_future.result() if d["DashboardName"] not in declared_dashboards]
        alarm_tagged = list(pool.map(lambda a: _in_scope(scan, cloudwatch, a["AlarmName"], a["AlarmArn"]), alarms))
        dashboard_tagged = list(
            pool.map(lambda d: _in_scope(scan, cloudwatch, d["DashboardName"], d["DashboardArn"]), dashboards)
        )
    for alarm, tagged in zip(alarms, alarm_tagged, strict=True):
        if tagged:
            scan.add(
                "alarm",
                "AWS::CloudWatch::Alarm",
                alarm["AlarmName"],
                f"alarm {alarm['AlarmName']} on {alarm.get('Namespace')} {alarm.get('MetricName')}, of the "
                "environment (name or tags)",
                scan.regional(f"aws cloudwatch delete-alarms --alarm-names {shlex.quote(alarm['AlarmName'])}"),
                f"monitoring_alarms (group_vars/all/alarms.yml) or its overrides in {scan.inventory}; "
                f"{scan.allow_hint(alarm['AlarmName'], 'alarm')}",
                name=alarm["AlarmName"],
                arn=alarm["AlarmArn"],
            )
    for dashboard, tagged in zip(dashboards, dashboard_tagged, strict=True):
        if tagged:
            scan.add(
                "dashboard",
                "AWS::CloudWatch::Dashboard",
                dashboard["DashboardName"],
                f"dashboard {dashboard['DashboardName']}, of the environment (name or tags)",
                scan.regional(
                    f"aws cloudwatch delete-dashboards --dashboard-names {shlex.quote(dashboard['DashboardName'])}"
                ),
                f"roles/aws_monitoring declares the operations dashboard (dashboard_enabled in {scan.inventory}); "
                f"{scan.allow_hint(dashboard['DashboardName'], 'dashboard')}",
                name=dashboard["DashboardName"],
                arn=dashboard["DashboardArn"],
            )


def readers(scan: Scan) -> list[tuple[str, Callable[[], None]]]:
    """(kind set, reader) for every scope the parameters give and the stages ask for."""
    params, stages = scan.params, scan.stages
    jobs: list[tuple[str, Callable[[], None]]] = []
    if params["vpc_id"] and stages & {"security", "network"}:
        jobs.append(("vpc", lambda: scan_vpc(scan)))
    if params["subnet_ids"] and "compute" in stages:
        jobs.append(("instances", lambda: scan_instances(scan)))
    if params["role_name"] and "iam" in stages:
        jobs.append(("iam_role", lambda: scan_role(scan)))
    if "storage" in stages:
        jobs += [(f"bucket {b}", lambda b=b: scan_bucket(scan, b)) for b in params["buckets"] if b]
    if params["hosted_zone_id"] and "dns" in stages:
        jobs.append(("hosted_zone", lambda: scan_zone(scan)))
    if params["distribution_id"] and "edge" in stages:
        jobs.append(("distribution", lambda: scan_distribution(scan)))
    if params["secrets_prefix"] and "secrets" in stages:
        jobs.append(("secrets", lambda: scan_secrets(scan)))
    if "monitoring" in stages:
        jobs.append(("monitoring", lambda: scan_monitoring(scan)))
    return jobs


def allowed(item: dict[str, Any], patterns: list[str]) -> bool:
    """Whether an allow-list entry (id, or kind:id; wildcards) matches the item (by id, name or ARN)."""
    names = [str(value) for value in (item["id"], item.get("name"), item.get("arn")) if value]
    for pattern in patterns:
        kind, _colon, ident = pattern.partition(":") if pattern.split(":", 1)[0] in STAGE_OF else ("", "", pattern)
        if kind and kind != item["kind"]:
            continue
        if any(fnmatch.fnmatchcase(name, ident) for name in names) or any(name.endswith("/" + ident) for name in names):
            return True
    return False


def run_scan(params: dict[str, Any], clients: Callable[[str, str | None], Any], region: str, partition: str = "aws"):
    """The scan: every reader in a pool; returns (unmanaged, allowed, scanned kinds, request count)."""
    scan = Scan(params, clients, region)
    scan.partition = partition
    if params.get("stages"):
        scan.stages = set(params["stages"]) & set(STAGES)
    jobs = readers(scan)
    with ThreadPoolExecutor(max_workers=max(1, params.get("max_workers") or 12)) as pool:
        futures = [pool.submit(job) for _scope, job in jobs]
        for future in futures:
            future.result()  # an error of any reader fails the scan (a failed comparison)
    items = sorted(scan.items, key=lambda item: (list(STAGES).index(item["stage"]), item["kind"], item["id"]))
    patterns = params.get("allow") or []
    reported = [item for item in items if not allowed(item, patterns)]
    expected = [item for item in items if allowed(item, patterns)]
    kinds = sorted({kind for stage in scan.stages for kind in STAGES[stage]})
    return reported, expected, kinds, scan.requests


def main() -> None:
    declared = dict(
        security_groups=dict(type="list", elements="str", default=[]),
        instances=dict(type="list", elements="str", default=[]),
        managed_policies=dict(type="list", elements="str", default=[]),
        inline_policies=dict(type="list", elements="str", default=[]),
        bucket_policies=dict(type="dict", default={}),
        records=dict(type="list", elements="str", default=[]),
        origins=dict(type="list", elements="str", default=[]),
        behaviors=dict(type="list", elements="str", default=["*"]),
        secrets=dict(type="list", elements="str", default=[], no_log=False),
        alarms=dict(type="list", elements="str", default=[]),
        dashboards=dict(type="list", elements="str", default=[]),
    )
    argument_spec = dict(
        environment=dict(type="str", required=True),
        stages=dict(type="list", elements="str", default=[]),
        vpc_id=dict(type="str", default=""),
        subnet_ids=dict(type="list", elements="str", default=[]),
        hosted_zone_id=dict(type="str", default=""),
        buckets=dict(type="list", elements="str", default=[]),
        role_name=dict(type="str", default=""),
        secrets_prefix=dict(type="str", default="", no_log=False),
        distribution_id=dict(type="str", default=""),
        tags=dict(type="dict", default={}),
        name_prefix=dict(type="str", default=""),
        declared=dict(type="dict", default={}, options=declared),
        allow=dict(type="list", elements="str", default=[]),
        max_workers=dict(type="int", default=12),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)

    # One client per service and region, shared by the threads (botocore clients are thread-safe): the
    # clients the comparison's modules kept in this process (module_utils/aws_module.py), with their
    # connections alive, not new ones built one after another. botocore's pool of 10 connections per
    # client is enough: no scope sends more than 6 requests to one service at once.
    def clients(service: str, region: str | None = None) -> Any:
        return module.client(service, **({"region": region} if region else {}))

    partition = (
        "aws-cn" if str(module.region).startswith("cn-") else "aws-us-gov" if "-gov-" in str(module.region) else "aws"
    )
    try:
        reported, expected, kinds, requests = run_scan(module.params, clients, module.region, partition)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg="Failed to read the environment's scope for unmanaged resources")
    module.exit_json(changed=False, unmanaged=reported, allowed=expected, scanned=kinds, requests=requests)


if __name__ == "__main__":
    main()
