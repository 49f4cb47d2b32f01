#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elb_load_balancing
short_description: An application load balancer, its listeners and their target group, read at once
version_added: 1.0.0
description:
  - Keeps an application load balancer (subnets, security groups, attributes, tags), its listeners,
    each forwarding to one target group, and that target group (health check, attributes, registered
    targets, tags) in one call. It reads them in two round trips (the balancer and the group by name side
    by side, then the balancer's attributes and listeners, the group's attributes and targets and both
    resources' tags side by side), compares each with its declaration and writes only what differs.
  - It exists because M(amazon.aws.elb_application_lb) and M(community.aws.elb_target_group) read, compare
    and read again one request at a time (17 requests one after another on a run that changes nothing),
    M(amazon.aws.elb_application_lb)'s check mode returns neither the balancer's ARN nor its address,
    and M(community.aws.elb_target_group) has no check mode, so a drift run needed a second, read-only
    comparison of the group.
  - The target group's protocol, port, VPC and target type, and the balancer's scheme, cannot change in
    place. A difference in one of them is reported (check mode, the drift run) and stops a converge
    before any write, naming the setting.
  - Attributes are compared only for the declared keys (the others keep AWS's values). Tags are exactly
    the declared ones on both resources (AWS's own C(aws:*) tags never count). Registered targets are
    exactly the declared ones (a target being deregistered, C(draining), no longer counts).
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no write.
    Returns one entry per resource in RV(results), with its own C(changed) and C(diff), shaped as the
    collection modules return them (C(target_group_arn), C(load_balancer_arn)) so that the drift report
    names each one as AWS does.
  - Removal stays with M(amazon.aws.elb_application_lb) and M(community.aws.elb_target_group)
    (C(state=absent)).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The load balancer's name.
    type: str
    required: true
  scheme:
    description: The load balancer's scheme (fixed at creation).
    type: str
    choices: [internet-facing, internal]
    default: internet-facing
  subnets:
    description: The ids of the load balancer's subnets.
    type: list
    elements: str
    required: true
  security_groups:
    description: The ids of the load balancer's security groups.
    type: list
    elements: str
    required: true
  attributes:
    description:
      - Load balancer attributes to keep, by their API keys (C(idle_timeout.timeout_seconds),
        C(routing.http2.enabled), C(access_logs.s3.bucket)...). Booleans and numbers are sent as the
        strings the API takes. Keys not given keep their values.
    type: dict
    default: {}
  listeners:
    description: The listeners; each forwards to the target group.
    type: list
    elements: dict
    required: true
    suboptions:
      protocol: {description: The listener's protocol., type: str, choices: [HTTP, HTTPS], required: true}
      port: {description: The listener's port., type: int, required: true}
      ssl_policy: {description: The TLS policy (HTTPS)., type: str}
      certificate_arn: {description: The default certificate's ARN (HTTPS)., type: str}
  purge_listeners:
    description: Whether listeners on ports not declared are deleted.
    type: bool
    default: true
  purge_rules:
    description:
      - Whether a declared listener's rules (besides its default action) are deleted. The listeners
        declare none, so any rule is someone else's (a path routed elsewhere).
    type: bool
    default: true
  target_group:
    description: The target group the listeners forward to.
    type: dict
    required: true
    suboptions:
      name: {description: The target group's name., type: str, required: true}
      protocol:
        description: The targets' protocol (fixed at creation).
        type: str
        choices: [HTTP, HTTPS]
        required: true
      port: {description: The targets' port (fixed at creation)., type: int, required: true}
      vpc_id: {description: The VPC (fixed at creation)., type: str, required: true}
      target_type:
        description: The target type (fixed at creation).
        type: str
        choices: [instance, ip]
        default: instance
      health_check_protocol:
        description: The health check's protocol.
        type: str
        choices: [HTTP, HTTPS]
        default: HTTP
      health_check_path: {description: The health check's path., type: str, default: /}
      health_check_port:
        description: "The health check's port (V(traffic-port) or a number)."
        type: str
        default: traffic-port
      health_check_interval: {description: Seconds between health checks., type: int, default: 30}
      health_check_timeout: {description: Seconds a health check may take., type: int, default: 5}
      healthy_threshold_count: {description: Checks passed before a target is healthy., type: int, default: 5}
      unhealthy_threshold_count: {description: Checks failed before a target is unhealthy., type: int, default: 2}
      successful_response_codes: {description: The HTTP codes of a healthy answer., type: str, default: "200"}
      deregistration_delay_timeout: {description: Seconds a deregistered target drains., type: int, default: 300}
      targets:
        description: The targets that must be registered, as C(Id) and C(Port) (the group's port when not given).
        type: list
        elements: dict
        default: []
  tags:
    description: The tags of both the load balancer and the target group.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the API target group and the load balancer with its HTTPS listener
  elb_load_balancing:
    name: mensetsu-dev-alb
    subnets: [subnet-0aaa, subnet-0bbb]
    security_groups: [sg-0123456789abcdef0]
    attributes:
      idle_timeout.timeout_seconds: 60
      routing.http2.enabled: true
    listeners:
      - protocol: HTTPS
        port: 443
        ssl_policy: ELBSecurityPolicy-TLS13-1-2-2021-06
        certificate_arn: arn:aws:acm:ap-northeast-1:123456789012:certificate/abc
    target_group:
      name: mensetsu-dev-api
      protocol: HTTP
      port: 8000
      vpc_id: vpc-0123456789abcdef0
      health_check_path: /health
      targets: [{Id: i-0123456789abcdef0}]
    tags: {Project: mensetsu, Environment: dev}
"""

RETURN = r"""
load_balancer_arn:
  description: The load balancer's ARN (empty for one check mode would create).
  returned: always
  type: str
load_balancer_name:
  description: The load balancer's name.
  returned: always
  type: str
dns_name:
  description: The load balancer's DNS name (empty for one check mode would create).
  returned: always
  type: str
canonical_hosted_zone_id:
  description: The Route 53 zone of the load balancer's DNS name, for alias records.
  returned: always
  type: str
ip_address_type:
  description: V(ipv4) or V(dualstack).
  returned: always
  type: str
target_group_arn:
  description: The target group's ARN (empty for one check mode would create).
  returned: always
  type: str
target_group_name:
  description: The target group's name.
  returned: always
  type: str
listeners:
  description: The declared listeners as they are (or, after a converge, will be).
  returned: always
  type: list
  elements: dict
  contains:
    port: {description: The port., type: int}
    protocol: {description: The protocol., type: str}
    ssl_policy: {description: The TLS policy., type: str}
    certificate_arn: {description: The default certificate., type: str}
    listener_arn: {description: The listener's ARN (empty for one check mode would create)., type: str}
results:
  description: "One entry per resource: the target group, then the load balancer with its listeners."
  returned: always
  type: list
  elements: dict
  contains:
    resource: {description: "V(target_group) or V(load_balancer).", type: str}
    label: {description: The resource and its name., type: str}
    drift_kind: {description: The collection module whose resource kind it is (for the drift report)., type: str}
    action: {description: "V(created), V(updated) or V(unchanged).", type: str}
    changed: {description: "Whether it was (or, in check mode, would be) written.", type: bool}
    diff: {description: "The settings that differ, before (actual) and after (declared).", type: dict}
    target_group_arn: {description: The target group's ARN (target group)., type: str}
    target_group_name: {description: The target group's name (target group)., type: str}
    load_balancer_arn: {description: The load balancer's ARN (load balancer)., type: str}
    load_balancer_name: {description: The load balancer's name (load balancer)., type: str}
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import differences, result_entry, results_diff
from ansible.module_utils.parallel_reads import aws_read, read_in_parallel
from ansible.module_utils.tag_sync import apply_tag_changes, plan_tag_changes
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

PLANNED_GROUP = "(the target group check mode would create)"
# Settings AWS fixes when it creates the resource: a difference stops a converge before any write.
FIXED = {"target_group": ("protocol", "port", "vpc_id", "target_type"), "load_balancer": ("scheme",)}
# target_group option -> the key of DescribeTargetGroups' answer (and of Create/ModifyTargetGroup).
HEALTH_CHECK = {
    "health_check_protocol": "HealthCheckProtocol",
    "health_check_path": "HealthCheckPath",
    "health_check_port": "HealthCheckPort",
    "health_check_interval": "HealthCheckIntervalSeconds",
    "health_check_timeout": "HealthCheckTimeoutSeconds",
    "healthy_threshold_count": "HealthyThresholdCount",
    "unhealthy_threshold_count": "UnhealthyThresholdCount",
}
FIXED_KEYS = {"protocol": "Protocol", "port": "Port", "vpc_id": "VpcId", "target_type": "TargetType"}
DEREGISTRATION_DELAY = "deregistration_delay.timeout_seconds"


def api_string(value: Any) -> str:
    """An attribute value as the ELBv2 API spells it (V(true), V(60))."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def tag_dict(description: dict[str, Any] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in (description or {}).get("Tags") or [] if not t["Key"].startswith("aws:")}


def target_keys(targets: list[dict[str, Any]], default_port: int) -> list[str]:
    return sorted(f"{target['Id']}:{int(target.get('Port') or default_port)}" for target in targets)


def forward_target(actions: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A listener's default actions as [{type, target_group_arn}] (a forward to one group, however AWS spells it)."""
    found = []
    for action in actions or []:
        arn = action.get("TargetGroupArn")
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if not arn and len(groups) == 1:
            arn = groups[0].get("TargetGroupArn")
        found.append({"type": action.get("Type", ""), "target_group_arn": arn or ""})
    return found


def rule_label(rule: dict[str, Any]) -> str:
    """A listener rule in one line: `10: path-pattern=/admin/* -> forward`."""
    conditions = ", ".join(
        f"{condition.get('Field')}={','.join(condition.get('Values') or [])}"
        for condition in rule.get("Conditions") or []
    )
    actions = ", ".join(str(action.get("Type")) for action in rule.get("Actions") or [])
    return f"{rule.get('Priority')}: {conditions} -> {actions}"


class LoadBalancing:
    def __init__(self, module: Any, client: Any) -> None:
        self.module, self.client = module, client
        self.params = module.params
        self.group_spec = module.params["target_group"]
        self.write = not module.check_mode
        self.tags = {str(key): str(value) for key, value in (module.params["tags"] or {}).items()}
        self.results: list[dict[str, Any]] = []

    # --- reads ------------------------------------------------------------------------------
    def find(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The balancer and the group by name, side by side (None for one that does not exist)."""

        def balancer() -> dict[str, Any] | None:
            try:
                found = self.client.describe_load_balancers(aws_retry=True, Names=[self.params["name"]])
            except is_boto3_error_code("LoadBalancerNotFound"):
                return None
            return (found.get("LoadBalancers") or [None])[0]

        def group() -> dict[str, Any] | None:
            try:
                found = self.client.describe_target_groups(aws_retry=True, Names=[self.group_spec["name"]])
            except is_boto3_error_code("TargetGroupNotFound"):
                return None
            return (found.get("TargetGroups") or [None])[0]

        found = read_in_parallel(
            self.module,
            {
                "balancer": aws_read(self.module, f"load balancer {self.params['name']}", balancer),
                "group": aws_read(self.module, f"target group {self.group_spec['name']}", group),
            },
        )
        return found["balancer"], found["group"]

    def details(self, balancer: dict[str, Any] | None, group: dict[str, Any] | None) -> dict[str, Any]:
        """What needs the ARNs, side by side: attributes, listeners, registered targets, both resources' tags."""
        client, reads = self.client, {}
        if balancer:
            arn = balancer["LoadBalancerArn"]
            reads["balancer_attributes"] = aws_read(
                self.module,
                "the load balancer's attributes",
                lambda: client.describe_load_balancer_attributes(aws_retry=True, LoadBalancerArn=arn)["Attributes"],
            )
            reads["listeners"] = aws_read(
                self.module,
                "the load balancer's listeners",
                lambda: [
                    listener
                    for page in client.get_paginator("describe_listeners").paginate(LoadBalancerArn=arn)
                    for listener in page["Listeners"]
                ],
            )
        if group:
            group_arn = group["TargetGroupArn"]
            reads["group_attributes"] = aws_read(
                self.module,
                "the target group's attributes",
                lambda: client.describe_target_group_attributes(aws_retry=True, TargetGroupArn=group_arn)["Attributes"],
            )
            reads["targets"] = aws_read(
                self.module,
                "the target group's targets",
                lambda: client.describe_target_health(aws_retry=True, TargetGroupArn=group_arn)[
                    "TargetHealthDescriptions"
                ],
            )
        arns = [
            resource[key] for resource, key in ((balancer, "LoadBalancerArn"), (group, "TargetGroupArn")) if resource
        ]
        if arns:
            # One DescribeTags for both (it takes up to 20 ARNs).
            reads["tags"] = aws_read(
                self.module,
                "the tags",
                lambda: {
                    item["ResourceArn"]: item
                    for item in client.describe_tags(aws_retry=True, ResourceArns=arns)["TagDescriptions"]
                },
            )
        return read_in_parallel(self.module, reads)

    def rules(self, listeners: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """The rules of each declared listener that exists (they need its ARN), side by side: a third
        round trip, only where purge_rules asks for them."""
        declared = {listener["port"] for listener in self.params["listeners"]}
        wanted = [item for item in listeners if item["Port"] in declared] if self.params["purge_rules"] else []

        def rules_of(arn: str) -> list[dict[str, Any]]:
            found, request = [], {"ListenerArn": arn}
            while True:
                page = self.client.describe_rules(aws_retry=True, **request)
                found += [rule for rule in page.get("Rules") or [] if not rule.get("IsDefault")]
                if not page.get("NextMarker"):
                    return found
                request["Marker"] = page["NextMarker"]

        reads = {
            item["ListenerArn"]: aws_read(
                self.module, f"the rules of listener {item['Port']}", lambda arn=item["ListenerArn"]: rules_of(arn)
            )
            for item in wanted
        }
        return read_in_parallel(self.module, reads)

    # --- comparison -------------------------------------------------------------------------
    def entry(self, resource: str, kind: str, diff: dict[str, Any], existed: bool, name: str) -> dict[str, Any]:
        return result_entry(self.results, resource, kind, diff, existed, name)

    def declared_group(self) -> dict[str, Any]:
        spec = self.group_spec
        declared = {option: spec[option] for option in (*FIXED_KEYS, *HEALTH_CHECK, "successful_response_codes")}
        declared["deregistration_delay_timeout"] = str(spec["deregistration_delay_timeout"])
        declared["targets"] = target_keys(spec["targets"], spec["port"])
        declared["tags"] = self.tags
        return declared

    @staticmethod
    def actual_group(group: dict[str, Any], read: dict[str, Any]) -> dict[str, Any]:
        actual = {option: group.get(key) for option, key in {**FIXED_KEYS, **HEALTH_CHECK}.items()}
        actual["successful_response_codes"] = (group.get("Matcher") or {}).get("HttpCode")
        attributes = {item["Key"]: item["Value"] for item in read.get("group_attributes") or []}
        actual["deregistration_delay_timeout"] = attributes.get(DEREGISTRATION_DELAY)
        registered = [
            item["Target"]
            for item in read.get("targets") or []
            if (item.get("TargetHealth") or {}).get("State") != "draining"
        ]
        actual["targets"] = target_keys(registered, group.get("Port") or 0)
        actual["tags"] = tag_dict((read.get("tags") or {}).get(group["TargetGroupArn"]))
        return actual

    def declared_balancer(self, group_arn: str) -> dict[str, Any]:
        declared: dict[str, Any] = {
            "scheme": self.params["scheme"],
            "subnets": sorted(self.params["subnets"]),
            "security_groups": sorted(self.params["security_groups"]),
            "attributes": {key: api_string(value) for key, value in sorted(self.params["attributes"].items())},
        }
        for listener in self.params["listeners"]:
            declared[f"listener {listener['port']}"] = {
                "protocol": listener["protocol"],
                # Not given: AWS's default policy for HTTPS, which is not compared.
                **({"ssl_policy": listener["ssl_policy"]} if listener["ssl_policy"] else {}),
                "certificates": [listener["certificate_arn"]] if listener["certificate_arn"] else [],
                "default_actions": [{"type": "forward", "target_group_arn": group_arn}],
            }
            if self.params["purge_rules"]:
                declared[f"listener {listener['port']}"]["rules"] = []
        declared["tags"] = self.tags
        return declared

    def actual_balancer(self, balancer: dict[str, Any], read: dict[str, Any]) -> dict[str, Any]:
        attributes = {item["Key"]: item["Value"] for item in read.get("balancer_attributes") or []}
        actual: dict[str, Any] = {
            "scheme": balancer.get("Scheme"),
            "subnets": sorted(zone["SubnetId"] for zone in balancer.get("AvailabilityZones") or []),
            "security_groups": sorted(balancer.get("SecurityGroups") or []),
            "attributes": {key: attributes.get(key) for key in sorted(self.params["attributes"])},
        }
        for listener in read.get("listeners") or []:
            declared_policy = any(
                spec["port"] == listener["Port"] and spec["ssl_policy"] for spec in self.params["listeners"]
            )
            actual[f"listener {listener['Port']}"] = {
                "protocol": listener.get("Protocol"),
                **({"ssl_policy": listener.get("SslPolicy")} if declared_policy else {}),
                "certificates": [c["CertificateArn"] for c in listener.get("Certificates") or []],
                "default_actions": forward_target(listener.get("DefaultActions") or []),
            }
            if self.params["purge_rules"]:
                rules = (read.get("rules") or {}).get(listener["ListenerArn"]) or []
                actual[f"listener {listener['Port']}"]["rules"] = [rule_label(rule) for rule in rules]
        actual["tags"] = tag_dict((read.get("tags") or {}).get(balancer["LoadBalancerArn"]))
        return actual

    def refuse_fixed(self, resource: str, name: str, diff: dict[str, Any]) -> None:
        """A converge cannot change a setting AWS fixed at creation: stop before any write."""
        fixed = [key for key in FIXED[resource] if key in diff.get("after", {}) and diff.get("before")]
        if fixed and self.write:
            what = ", ".join(f"{key} is {diff['before'][key]!r}, declared {diff['after'][key]!r}" for key in fixed)
            self.module.fail_json(
                msg=f"{resource.replace('_', ' ')} {name}: {what}; AWS cannot change it in place "
                "(delete the resource or give it another name)"
            )

    # --- writes -----------------------------------------------------------------------------
    def converge_group(self, group: dict[str, Any] | None, read: dict[str, Any]) -> str:
        spec = self.group_spec
        declared = self.declared_group()
        actual = self.actual_group(group, read) if group else None
        diff = differences(declared, actual)
        self.refuse_fixed("target_group", spec["name"], diff)
        entry = self.entry("target_group", "elb_target_group", diff, group is not None, spec["name"])
        arn = group["TargetGroupArn"] if group else ""
        if diff and self.write:
            client = self.client
            health = {key: spec[option] for option, key in HEALTH_CHECK.items()}
            matcher = {"HttpCode": spec["successful_response_codes"]}
            if not group:
                arn = client.create_target_group(
                    aws_retry=True,
                    Name=spec["name"],
                    Protocol=spec["protocol"],
                    Port=spec["port"],
                    VpcId=spec["vpc_id"],
                    TargetType=spec["target_type"],
                    HealthCheckEnabled=True,
                    Matcher=matcher,
                    **health,
                    **({"Tags": [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())]} if self.tags else {}),
                )["TargetGroups"][0]["TargetGroupArn"]
                actual = {"targets": [], "tags": self.tags, "deregistration_delay_timeout": None}
            elif any(key in diff["after"] for key in (*HEALTH_CHECK, "successful_response_codes")):
                client.modify_target_group(aws_retry=True, TargetGroupArn=arn, Matcher=matcher, **health)
            if declared["deregistration_delay_timeout"] != actual["deregistration_delay_timeout"]:
                client.modify_target_group_attributes(
                    aws_retry=True,
                    TargetGroupArn=arn,
                    Attributes=[{"Key": DEREGISTRATION_DELAY, "Value": declared["deregistration_delay_timeout"]}],
                )
            self.sync_targets(arn, declared["targets"], actual["targets"])
            self.sync_tags(arn, actual["tags"])
        entry.update(target_group_arn=arn, target_group_name=spec["name"])
        return arn

    def sync_targets(self, arn: str, declared: list[str], actual: list[str]) -> None:
        def as_targets(keys: list[str]) -> list[dict[str, Any]]:
            return [{"Id": key.rsplit(":", 1)[0], "Port": int(key.rsplit(":", 1)[1])} for key in keys]

        missing = sorted(set(declared) - set(actual))
        extra = sorted(set(actual) - set(declared))
        if missing:
            self.client.register_targets(aws_retry=True, TargetGroupArn=arn, Targets=as_targets(missing))
        if extra:
            self.client.deregister_targets(aws_retry=True, TargetGroupArn=arn, Targets=as_targets(extra))

    def sync_tags(self, arn: str, actual: dict[str, str]) -> None:
        """The resource's tags made exactly the declared ones (module_utils/tag_sync decides what to send)."""

        def add(tags: dict[str, str]) -> None:
            self.client.add_tags(aws_retry=True, ResourceArns=[arn], Tags=ansible_dict_to_boto3_tag_list(tags))

        def remove(keys: list[str]) -> None:
            self.client.remove_tags(aws_retry=True, ResourceArns=[arn], TagKeys=keys)

        apply_tag_changes(plan_tag_changes(actual, self.tags, purge_tags=True), False, add, remove)

    def converge_balancer(
        self, balancer: dict[str, Any] | None, read: dict[str, Any], group_arn: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        name = self.params["name"]
        declared = self.declared_balancer(group_arn or PLANNED_GROUP)
        actual = self.actual_balancer(balancer, read) if balancer else None
        if actual is not None and not self.params["purge_listeners"]:
            actual = {key: value for key, value in actual.items() if not key.startswith("listener ") or key in declared}
        # A listener nobody declared is in the actual state only: differences() compares the declared keys.
        undeclared = sorted(key for key in actual or {} if key.startswith("listener ") and key not in declared)
        diff = differences(declared, actual)
        if undeclared:
            diff = diff or {"before": {}, "after": {}}
            for key in undeclared:
                diff["before"][key], diff["after"][key] = "present", "absent"
        self.refuse_fixed("load_balancer", name, diff)
        entry = self.entry("load_balancer", "elb_application_lb", diff, balancer is not None, name)
        listeners = {listener["Port"]: listener for listener in read.get("listeners") or []}
        if diff and self.write:
            client = self.client
            if not balancer:
                balancer = client.create_load_balancer(
                    aws_retry=True,
                    Name=name,
                    Subnets=self.params["subnets"],
                    SecurityGroups=self.params["security_groups"],
                    Scheme=self.params["scheme"],
                    Type="application",
                    **({"Tags": [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())]} if self.tags else {}),
                )["LoadBalancers"][0]
                actual = {"subnets": declared["subnets"], "security_groups": declared["security_groups"]}
                actual.update(attributes={}, tags=self.tags)
            arn = balancer["LoadBalancerArn"]
            if declared["subnets"] != actual["subnets"]:
                client.set_subnets(aws_retry=True, LoadBalancerArn=arn, Subnets=self.params["subnets"])
            if declared["security_groups"] != actual["security_groups"]:
                client.set_security_groups(
                    aws_retry=True, LoadBalancerArn=arn, SecurityGroups=self.params["security_groups"]
                )
            changed_attributes = [
                {"Key": key, "Value": value}
                for key, value in declared["attributes"].items()
                if actual["attributes"].get(key) != value
            ]
            if changed_attributes:
                client.modify_load_balancer_attributes(
                    aws_retry=True, LoadBalancerArn=arn, Attributes=changed_attributes
                )
            listeners = self.sync_listeners(arn, declared, actual, listeners, group_arn, read.get("rules") or {})
            self.sync_tags(arn, actual["tags"])
        entry.update(load_balancer_arn=(balancer or {}).get("LoadBalancerArn", ""), load_balancer_name=name)
        return balancer or {}, [
            {
                "port": spec["port"],
                "protocol": spec["protocol"],
                "ssl_policy": spec["ssl_policy"],
                "certificate_arn": spec["certificate_arn"],
                "listener_arn": (listeners.get(spec["port"]) or {}).get("ListenerArn", ""),
            }
            for spec in self.params["listeners"]
        ]

    def sync_listeners(
        self,
        arn: str,
        declared: dict[str, Any],
        actual: dict[str, Any],
        listeners: dict[int, dict[str, Any]],
        group_arn: str,
        read_rules: dict[str, list[dict[str, Any]]],
    ) -> dict[int, dict[str, Any]]:
        listeners = dict(listeners)
        for spec in self.params["listeners"]:
            key = f"listener {spec['port']}"
            for rule in read_rules.get((listeners.get(spec["port"]) or {}).get("ListenerArn"), []):
                self.client.delete_rule(aws_retry=True, RuleArn=rule["RuleArn"])
            want = {name: value for name, value in declared[key].items() if name != "rules"}
            have = {name: value for name, value in (actual.get(key) or {}).items() if name != "rules"}
            if want == have:
                continue
            request: dict[str, Any] = {
                "Protocol": spec["protocol"],
                "Port": spec["port"],
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": group_arn}],
            }
            if spec["ssl_policy"]:
                request["SslPolicy"] = spec["ssl_policy"]
            if spec["certificate_arn"]:
                request["Certificates"] = [{"CertificateArn": spec["certificate_arn"]}]
            if spec["port"] in listeners:
                answer = self.client.modify_listener(
                    aws_retry=True, ListenerArn=listeners[spec["port"]]["ListenerArn"], **request
                )
            else:
                answer = self.client.create_listener(aws_retry=True, LoadBalancerArn=arn, **request)
            listeners[spec["port"]] = answer["Listeners"][0]
        if self.params["purge_listeners"]:
            for port in sorted(set(listeners) - {spec["port"] for spec in self.params["listeners"]}):
                self.client.delete_listener(aws_retry=True, ListenerArn=listeners.pop(port)["ListenerArn"])
        return listeners


def converge(module: Any, client: Any) -> dict[str, Any]:
    """Read in two round trips, then write only what differs; the module's result."""
    balancing = LoadBalancing(module, client)
    ports = [listener["port"] for listener in module.params["listeners"]]
    if len(set(ports)) != len(ports):
        module.fail_json(msg=f"listeners: each port once (a load balancer has one listener per port): {ports}")
    try:
        balancer, group = balancing.find()
        read = balancing.details(balancer, group)
        read["rules"] = balancing.rules(read.get("listeners") or [])
        group_arn = balancing.converge_group(group, read)
        balancer, listeners = balancing.converge_balancer(balancer, read, group_arn)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to converge load balancer {module.params['name']}")
    changed = [entry for entry in balancing.results if entry["changed"]]
    return {
        "changed": bool(changed),
        "load_balancer_arn": balancer.get("LoadBalancerArn", ""),
        "load_balancer_name": module.params["name"],
        "dns_name": balancer.get("DNSName", ""),
        "canonical_hosted_zone_id": balancer.get("CanonicalHostedZoneId", ""),
        "ip_address_type": balancer.get("IpAddressType", "ipv4"),
        "target_group_arn": group_arn,
        "target_group_name": module.params["target_group"]["name"],
        "listeners": listeners,
        "results": balancing.results,
        "diff": results_diff(balancing.results),
    }


def main() -> None:
    listener_options = dict(
        protocol=dict(type="str", required=True, choices=["HTTP", "HTTPS"]),
        port=dict(type="int", required=True),
        ssl_policy=dict(type="str"),
        certificate_arn=dict(type="str"),
    )
    group_options = dict(
        name=dict(type="str", required=True),
        protocol=dict(type="str", required=True, choices=["HTTP", "HTTPS"]),
        port=dict(type="int", required=True),
        vpc_id=dict(type="str", required=True),
        target_type=dict(type="str", default="instance", choices=["instance", "ip"]),
        health_check_protocol=dict(type="str", default="HTTP", choices=["HTTP", "HTTPS"]),
        health_check_path=dict(type="str", default="/"),
        health_check_port=dict(type="str", default="traffic-port"),
        health_check_interval=dict(type="int", default=30),
        health_check_timeout=dict(type="int", default=5),
        healthy_threshold_count=dict(type="int", default=5),
        unhealthy_threshold_count=dict(type="int", default=2),
        successful_response_codes=dict(type="str", default="200"),
        deregistration_delay_timeout=dict(type="int", default=300),
        targets=dict(type="list", elements="dict", default=[]),
    )
    argument_spec = dict(
        name=dict(type="str", required=True),
        scheme=dict(type="str", default="internet-facing", choices=["internet-facing", "internal"]),
        subnets=dict(type="list", elements="str", required=True),
        security_groups=dict(type="list", elements="str", required=True),
        attributes=dict(type="dict", default={}),
        listeners=dict(type="list", elements="dict", required=True, options=listener_options),
        purge_listeners=dict(type="bool", default=True),
        purge_rules=dict(type="bool", default=True),
        target_group=dict(type="dict", required=True, options=group_options),
        tags=dict(type="dict", default={}),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("elbv2", retry_decorator=AWSRetry.jittered_backoff())
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
