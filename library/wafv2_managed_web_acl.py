#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: wafv2_managed_web_acl
short_description: A WAFv2 web ACL of AWS managed rule groups and a per-IP rate rule, its logging and associations
version_added: 1.0.0
description:
  - Creates, updates and deletes a WAFv2 web ACL, found by O(name) and O(scope), whose rules are the
    AWS managed rule groups of O(managed_rule_groups) (in that order, their own actions) and a
    rate-based rule that blocks a client IP above O(rate_limit) requests in 5 minutes; the default
    action allows. Every rule and the ACL publish CloudWatch metrics and keep sampled requests.
  - The managed fields are compared with C(GetWebACL) one by one (a rule by its name, only the keys
    the module sets; fields AWS adds, such as a rate rule's C(EvaluationWindowSec), never cause an
    update); a difference is sent with C(UpdateWebACL) and the ACL's C(LockToken).
  - With O(log_destination_arn), the ACL logs to that destination (a CloudWatch Logs log group whose
    name starts with C(aws-waf-logs-)); on C(PutLoggingConfiguration) WAF itself adds the resource
    policy that lets it write to the log group.
  - With O(resource_arns) (scope C(REGIONAL) only, for instance an ALB), the ACL is associated with
    each resource (C(GetWebACLForResource) is compared; a resource protected by another ACL is moved).
  - Check mode reads and reports, and writes nothing; the diff shows the fields that differ.
  - O(state=absent) removes the associations given, the logging configuration, then the ACL. A
    CLOUDFRONT ACL must first be detached from its distributions (their C(WebACLId)).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  state:
    description: V(present) creates or updates the ACL, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The web ACL's name (also its metric name and the prefix of its rules' metric names).
    type: str
    required: true
  scope:
    description: V(CLOUDFRONT) (the module's region must then be us-east-1) or V(REGIONAL).
    type: str
    choices: [CLOUDFRONT, REGIONAL]
    required: true
  description:
    description: The ACL's description.
    type: str
    default: ""
  managed_rule_groups:
    description: The AWS managed rule groups (vendor C(AWS)), by name, in priority order.
    type: list
    elements: str
    default: [AWSManagedRulesCommonRuleSet, AWSManagedRulesKnownBadInputsRuleSet, AWSManagedRulesAmazonIpReputationList]
  rate_limit:
    description:
      - Requests per 5 minutes from one client IP above which the IP is blocked (10 or more); V(0) means no rate rule.
    type: int
    default: 2000
  log_destination_arn:
    description:
      - The ARN of the log destination, for a log group
        C(arn:aws:logs:<region>:<account>:log-group:aws-waf-logs-...) (without C(:*)).
      - V("") removes the logging configuration; not set, the logging stays as it is.
    type: str
  resource_arns:
    description: Resources (REGIONAL scope) to associate with the ACL, for instance an ALB's ARN.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The CloudFront web ACL (us-east-1) with its log group
  wafv2_managed_web_acl:
    name: mensetsu-prod-cloudfront
    scope: CLOUDFRONT
    region: us-east-1
    rate_limit: 2000
    log_destination_arn: arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-mensetsu-prod-cloudfront
  register: cloudfront_acl

- name: A regional web ACL on the ALB
  wafv2_managed_web_acl:
    name: mensetsu-prod-alb
    scope: REGIONAL
    resource_arns: ["{{ alb_arn }}"]
"""

RETURN = r"""
arn:
  description: The ACL's ARN (a distribution's C(WebACLId)); empty when check mode would create it.
  returned: when the ACL exists or check mode would create it
  type: str
  sample: arn:aws:wafv2:us-east-1:123456789012:global/webacl/mensetsu-prod-cloudfront/a1b2c3
id:
  description: The ACL's id; empty when check mode would create it.
  returned: when the ACL exists or check mode would create it
  type: str
  sample: a1b2c3d4-5678-90ab-cdef-EXAMPLE11111
changed_fields:
  description:
    - What differed (C(DefaultAction), C(Rules.<name>), C(VisibilityConfig), C(Logging), C(Association.<arn>), C(Tags)).
  returned: always
  type: list
  elements: str
  sample: [Rules.rate-limit-per-ip]
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.config_compare import config_differences
from ansible.module_utils.parallel_reads import read_in_parallel
from ansible.module_utils.tag_sync import apply_tag_changes, plan_tag_changes
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)

RATE_RULE = "rate-limit-per-ip"
LOG_PREFIX = "aws-waf-logs-"


def visibility(metric: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric[:128]}


def desired_rules(params: dict[str, Any]) -> list[dict[str, Any]]:
    name = params["name"]
    rules = [
        {
            "Name": f"AWS-{group}",
            "Priority": priority,
            "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
            "OverrideAction": {"None": {}},
            "VisibilityConfig": visibility(f"{name}-{group}"),
        }
        for priority, group in enumerate(params["managed_rule_groups"])
    ]
    if params["rate_limit"]:
        rules.append(
            {
                "Name": RATE_RULE,
                "Priority": len(rules),
                "Statement": {"RateBasedStatement": {"Limit": params["rate_limit"], "AggregateKeyType": "IP"}},
                "Action": {"Block": {}},
                "VisibilityConfig": visibility(f"{name}-{RATE_RULE}"),
            }
        )
    return rules


def action_kind(value: Any) -> list[str]:
    """An action's kind ({"Block": {}} -> ["Block"]): compared whole, since a subset comparison
    would not see {"Count": {}} where {"None": {}} is wanted."""
    return sorted(value) if isinstance(value, dict) else []


def rule_differs(want: dict[str, Any], have: dict[str, Any]) -> bool:
    if config_differences(want, have):
        return True
    return any(action_kind(want.get(key)) != action_kind(have.get(key)) for key in ("Action", "OverrideAction"))


def acl_differences(desired: dict[str, Any], current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{field: (current, desired)} for the managed fields; rules are matched by name, and compared
    on the keys the module sets (what AWS adds to a rule is not compared)."""
    differences = {}
    if action_kind(desired["DefaultAction"]) != action_kind(current.get("DefaultAction")):
        differences["DefaultAction"] = (current.get("DefaultAction"), desired["DefaultAction"])
    if config_differences(desired["VisibilityConfig"], current.get("VisibilityConfig") or {}):
        differences["VisibilityConfig"] = (current.get("VisibilityConfig"), desired["VisibilityConfig"])
    if desired.get("Description", "") != current.get("Description", ""):
        differences["Description"] = (current.get("Description", ""), desired.get("Description", ""))
    have = {rule["Name"]: rule for rule in current.get("Rules") or []}
    want = {rule["Name"]: rule for rule in desired["Rules"]}
    for name in sorted(set(have) | set(want)):
        if name not in have or name not in want or rule_differs(want[name], have[name]):
            differences[f"Rules.{name}"] = (have.get(name), want.get(name))
    return differences


class ManagedWebAcl:
    def __init__(self, module: Any, client: Any) -> None:
        self.module = module
        self.params = module.params
        self.client = client
        self.scope = self.params["scope"]

    def fail(self, error: Exception, msg: str) -> None:
        self.module.fail_json_aws(error, msg=msg)

    # --- reading ------------------------------------------------------------------------------
    def find(self) -> dict[str, Any] | None:
        """The ACL's summary (Name, Id, ARN, LockToken) by name."""
        marker = None
        while True:
            kwargs: dict[str, Any] = {"Scope": self.scope, "Limit": 100, "aws_retry": True}
            if marker:
                kwargs["NextMarker"] = marker
            try:
                page = self.client.list_web_acls(**kwargs)
            except AWS_ERRORS as e:
                self.fail(e, "Failed to list the web ACLs")
            for summary in page.get("WebACLs") or []:
                if summary["Name"] == self.params["name"]:
                    return summary
            marker = page.get("NextMarker")
            if not marker or not page.get("WebACLs"):
                return None

    def get(self, summary: dict[str, Any]) -> tuple[dict[str, Any], str]:
        try:
            response = self.client.get_web_acl(Name=summary["Name"], Scope=self.scope, Id=summary["Id"], aws_retry=True)
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to read web ACL {summary['Name']}")
        return response["WebACL"], response["LockToken"]

    def logging_destinations(self, arn: str) -> list[str]:
        try:
            config = self.client.get_logging_configuration(ResourceArn=arn, aws_retry=True)["LoggingConfiguration"]
        except is_boto3_error_code("WAFNonexistentItemException"):
            return []
        except AWS_ERRORS as e:  # pylint: disable=duplicate-except
            self.fail(e, f"Failed to read the logging configuration of {arn}")
        return list(config.get("LogDestinationConfigs") or [])

    def acl_of(self, resource_arn: str) -> str:
        try:
            acl = self.client.get_web_acl_for_resource(ResourceArn=resource_arn, aws_retry=True).get("WebACL")
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to read the web ACL of {resource_arn}")
        return (acl or {}).get("ARN", "")

    def tags(self, arn: str) -> dict[str, str]:
        try:
            info = self.client.list_tags_for_resource(ResourceARN=arn, aws_retry=True)["TagInfoForResource"]
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to read the tags of {arn}")
        return boto3_tag_list_to_ansible_dict(info.get("TagList") or [])

    # --- present ------------------------------------------------------------------------------
    def desired(self) -> dict[str, Any]:
        desired = {
            "DefaultAction": {"Allow": {}},
            "Rules": desired_rules(self.params),
            "VisibilityConfig": visibility(self.params["name"]),
        }
        if self.params["description"]:
            # AWS refuses an empty description (at least one character): no description is no key.
            desired["Description"] = self.params["description"]
        return desired

    def ensure_present(self) -> dict[str, Any]:
        desired = self.desired()
        summary = self.find()
        if summary is None:
            return self.create(desired)
        arn = summary["ARN"]
        # The ACL, its tags, its logging and its associations: read side by side (each needs only the ARN).
        found = read_in_parallel(
            self.module,
            {
                "acl": lambda: self.get(summary),
                "tags": lambda: self.tags(arn),
                "logging": lambda: self.plan_logging(arn),
                "moves": lambda: self.plan_associations(arn),
            },
        )
        current, lock_token = found["acl"]
        differences = acl_differences(desired, current)
        tags = plan_tag_changes(found["tags"], self.params["tags"], self.params["purge_tags"])
        changed_fields = sorted(differences) + (["Tags"] if tags.changed else [])
        diff: dict[str, dict[str, Any]] = {
            "before": {key: before for key, (before, _after) in differences.items()},
            "after": {key: after for key, (_before, after) in differences.items()},
        }
        logging = found["logging"]
        if logging:
            changed_fields.append("Logging")
            diff["before"]["Logging"], diff["after"]["Logging"] = logging
        moves = found["moves"]
        for resource, before in moves.items():
            changed_fields.append(f"Association.{resource}")
            diff["before"][f"Association.{resource}"], diff["after"][f"Association.{resource}"] = before, arn
        if changed_fields and not self.module.check_mode:
            if differences:
                self.update(summary, desired, lock_token)
            self.apply_tags(arn, tags)
            self.apply_logging(arn, logging)
            self.apply_associations(arn, moves)
        return {
            "changed": bool(changed_fields),
            "changed_fields": changed_fields,
            "diff": diff,
            "arn": arn,
            "id": current["Id"],
        }

    def create(self, desired: dict[str, Any]) -> dict[str, Any]:
        changed_fields = sorted(
            ["DefaultAction", "VisibilityConfig"] + [f"Rules.{rule['Name']}" for rule in desired["Rules"]]
        )
        result = {
            "changed": True,
            "changed_fields": changed_fields,
            "diff": {"before": {}, "after": desired},
            "arn": "",
            "id": "",
        }
        if self.module.check_mode:
            return result
        kwargs: dict[str, Any] = {"Name": self.params["name"], "Scope": self.scope, **desired}
        if self.params["tags"]:
            kwargs["Tags"] = ansible_dict_to_boto3_tag_list(self.params["tags"])
        try:
            summary = self.client.create_web_acl(aws_retry=True, **kwargs)["Summary"]
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to create web ACL {self.params['name']}")
        arn = summary["ARN"]
        self.apply_logging(arn, self.plan_logging(arn, new=True))
        self.apply_associations(arn, self.plan_associations(arn, new=True))
        return {**result, "arn": arn, "id": summary["Id"]}

    def update(self, summary: dict[str, Any], desired: dict[str, Any], lock_token: str) -> None:
        for attempt in range(2):
            try:
                self.client.update_web_acl(
                    Name=summary["Name"],
                    Scope=self.scope,
                    Id=summary["Id"],
                    LockToken=lock_token,
                    aws_retry=True,
                    **desired,
                )
                return
            except is_boto3_error_code("WAFOptimisticLockException") as e:
                # Changed between our read and write: read the new token once, and send again.
                if attempt:
                    self.fail(e, f"Web ACL {summary['Name']} keeps changing under this update")
                lock_token = self.get(summary)[1]
            except AWS_ERRORS as e:  # pylint: disable=duplicate-except
                self.fail(e, f"Failed to update web ACL {summary['Name']}")

    def apply_tags(self, arn: str, tags: Any) -> None:
        try:
            apply_tag_changes(
                tags,
                check_mode=False,
                add_tags=lambda to_set: self.client.tag_resource(
                    ResourceARN=arn, Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True
                ),
                remove_tags=lambda keys: self.client.untag_resource(
                    ResourceARN=arn, TagKeys=list(keys), aws_retry=True
                ),
            )
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to update the tags of {arn}")

    def plan_logging(self, arn: str, new: bool = False) -> tuple[list[str], list[str]] | None:
        """(before, after) of the log destinations when they are to change, else None."""
        wanted = self.params["log_destination_arn"]
        if wanted is None:
            return None
        current = [] if new else self.logging_destinations(arn)
        after = [wanted] if wanted else []
        return None if current == after else (current, after)

    def apply_logging(self, arn: str, logging: tuple[list[str], list[str]] | None) -> None:
        if not logging:
            return
        before, after = logging
        try:
            if after:
                self.client.put_logging_configuration(
                    LoggingConfiguration={"ResourceArn": arn, "LogDestinationConfigs": after}, aws_retry=True
                )
            elif before:
                self.client.delete_logging_configuration(ResourceArn=arn, aws_retry=True)
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to set the logging of web ACL {arn} to {after}")

    def plan_associations(self, arn: str, new: bool = False) -> dict[str, str]:
        """{resource: its current ACL} for each resource not yet associated with this ACL."""
        moves = {}
        for resource in self.params["resource_arns"]:
            current = "" if new else self.acl_of(resource)
            if current != arn:
                moves[resource] = current
        return moves

    def apply_associations(self, arn: str, moves: dict[str, str]) -> None:
        for resource in moves:
            try:
                self.client.associate_web_acl(WebACLArn=arn, ResourceArn=resource, aws_retry=True)
            except AWS_ERRORS as e:
                self.fail(e, f"Failed to associate web ACL {arn} with {resource}")

    # --- absent -------------------------------------------------------------------------------
    def ensure_absent(self) -> dict[str, Any]:
        summary = self.find()
        if summary is None:
            return {"changed": False, "changed_fields": [], "diff": {"before": {}, "after": {}}}
        arn = summary["ARN"]
        associated = [resource for resource in self.params["resource_arns"] if self.acl_of(resource) == arn]
        result = {
            "changed": True,
            "changed_fields": [f"Association.{resource}" for resource in associated],
            "diff": {"before": {"Name": summary["Name"], "ARN": arn}, "after": {}},
            "arn": arn,
            "id": summary["Id"],
        }
        if self.module.check_mode:
            return result
        for resource in associated:
            try:
                self.client.disassociate_web_acl(ResourceArn=resource, aws_retry=True)
            except AWS_ERRORS as e:
                self.fail(e, f"Failed to disassociate {resource} from web ACL {arn}")
        if self.logging_destinations(arn):
            self.apply_logging(arn, (["any"], []))
        try:
            self.client.delete_web_acl(
                Name=summary["Name"], Scope=self.scope, Id=summary["Id"], LockToken=summary["LockToken"], aws_retry=True
            )
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to delete web ACL {arn}")
        return result


def validate(module: Any) -> None:
    params = module.params
    if params["scope"] == "CLOUDFRONT" and module.region != "us-east-1":
        module.fail_json(
            msg=f"scope CLOUDFRONT needs region us-east-1 (AWS keeps CloudFront's web ACLs there), not {module.region}"
        )
    if params["scope"] == "CLOUDFRONT" and params["resource_arns"]:
        module.fail_json(msg="resource_arns are for scope REGIONAL: a distribution names its web ACL itself (WebACLId)")
    if params["rate_limit"] and not 10 <= params["rate_limit"] <= 2000000000:
        module.fail_json(msg=f"rate_limit must be 0 (no rate rule) or 10 to 2000000000, not {params['rate_limit']}")
    destination = params["log_destination_arn"]
    if destination and f":log-group:{LOG_PREFIX}" not in destination and f":{LOG_PREFIX}" not in destination:
        module.fail_json(
            msg=f"log_destination_arn must name a destination starting with {LOG_PREFIX} (WAF refuses others): "
            f"{destination}"
        )


def main() -> None:
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        name=dict(type="str", required=True),
        scope=dict(type="str", choices=["CLOUDFRONT", "REGIONAL"], required=True),
        description=dict(type="str", default=""),
        managed_rule_groups=dict(
            type="list",
            elements="str",
            default=[
                "AWSManagedRulesCommonRuleSet",
                "AWSManagedRulesKnownBadInputsRuleSet",
                "AWSManagedRulesAmazonIpReputationList",
            ],
        ),
        rate_limit=dict(type="int", default=2000),
        log_destination_arn=dict(type="str"),
        resource_arns=dict(type="list", elements="str", default=[]),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    validate(module)
    acl = ManagedWebAcl(module, module.client("wafv2", retry_decorator=AWSRetry.jittered_backoff()))
    module.exit_json(**(acl.ensure_present() if module.params["state"] == "present" else acl.ensure_absent()))


if __name__ == "__main__":
    main()
