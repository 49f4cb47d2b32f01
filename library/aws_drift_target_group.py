#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_drift_target_group
short_description: Compare an ELBv2 target group with its declaration, read-only
version_added: 1.0.0
description:
  - Reads a target group's protocol, port, VPC, health check, deregistration delay, registered
    targets and tags, and compares each with the declaration the task passes. It exists because
    M(community.aws.elb_target_group) has no check mode, so a C(--check) run silently skips it.
  - Read-only, in check mode or not; it sends only Describe requests.
  - Reports C(changed) when the target group differs from the declaration (what a converge
    would change), with one RV(differences) entry per attribute.
  - An option the task does not set is not compared.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The target group's name.
    type: str
    required: true
  protocol: {description: The declared protocol., type: str}
  port: {description: The declared port., type: int}
  vpc_id: {description: The declared VPC., type: str}
  target_type: {description: The declared target type., type: str}
  health_check_protocol: {description: The declared health check protocol., type: str}
  health_check_path: {description: The declared health check path., type: str}
  health_check_port: {description: The declared health check port (V(traffic-port) or a number)., type: str}
  health_check_interval: {description: The declared interval in seconds., type: int}
  healthy_threshold_count: {description: The declared healthy threshold., type: int}
  unhealthy_threshold_count: {description: The declared unhealthy threshold., type: int}
  successful_response_codes: {description: The declared matcher (HTTP codes)., type: str}
  deregistration_delay_timeout: {description: The declared deregistration delay in seconds., type: int}
  targets:
    description:
      - The targets that must be registered, as C(Id) and C(Port); compared as a set (the
        converge registers missing ones and deregisters others).
    type: list
    elements: dict
  tags:
    description: The declared tags; compared exactly.
    type: dict
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Compare the API target group with its declaration
  aws_drift_target_group:
    name: mensetsu-dev-api
    protocol: HTTP
    port: 8000
    health_check_path: /health
    targets: [{Id: i-0123456789abcdef0, Port: 8000}]
"""

RETURN = r"""
resource:
  description: What was compared.
  returned: always
  type: str
  sample: target-group/mensetsu-dev-api
exists:
  description: Whether the target group exists.
  returned: always
  type: bool
differences:
  description: One entry per attribute that differs from the declaration.
  returned: always
  type: list
  elements: dict
  contains:
    attribute: {description: The attribute., type: str}
    declared: {description: The declared value., type: raw}
    actual: {description: The value the API returned., type: raw}
  sample: [{"attribute": "health_check_path", "declared": "/health", "actual": "/"}]
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_drift import compare_scalars, difference, drift_result
from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.parallel_reads import read_in_parallel
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# option -> the key of describe_target_groups' answer
GROUP_KEYS = {
    "protocol": "Protocol",
    "port": "Port",
    "vpc_id": "VpcId",
    "target_type": "TargetType",
    "health_check_protocol": "HealthCheckProtocol",
    "health_check_path": "HealthCheckPath",
    "health_check_port": "HealthCheckPort",
    "health_check_interval": "HealthCheckIntervalSeconds",
    "healthy_threshold_count": "HealthyThresholdCount",
    "unhealthy_threshold_count": "UnhealthyThresholdCount",
}


def find_group(module: AWSModule, client: Any) -> dict[str, Any] | None:
    try:
        groups = client.describe_target_groups(Names=[module.params["name"]], aws_retry=True)["TargetGroups"]
    except is_boto3_error_code("TargetGroupNotFound"):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to read target group {module.params['name']}")
    return groups[0] if groups else None


def group_settings(group: dict[str, Any]) -> dict[str, Any]:
    settings = {option: group.get(key) for option, key in GROUP_KEYS.items()}
    settings["successful_response_codes"] = group.get("Matcher", {}).get("HttpCode")
    return settings


def compare_attributes(module: AWSModule, client: Any, arn: str) -> list[dict[str, Any]]:
    declared = module.params["deregistration_delay_timeout"]
    if declared is None:
        return []
    try:
        attributes = client.describe_target_group_attributes(TargetGroupArn=arn, aws_retry=True)["Attributes"]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg="Failed to read the target group's attributes")
    values = {item["Key"]: item["Value"] for item in attributes}
    actual = values.get("deregistration_delay.timeout_seconds")
    return compare_scalars({"deregistration_delay_timeout": declared}, {"deregistration_delay_timeout": actual})


def target_set(targets: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{target['Id']}:{target.get('Port', '')}" for target in targets)


def compare_targets(module: AWSModule, client: Any, arn: str) -> list[dict[str, Any]]:
    declared = module.params["targets"]
    if declared is None:
        return []
    try:
        health = client.describe_target_health(TargetGroupArn=arn, aws_retry=True)["TargetHealthDescriptions"]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg="Failed to read the target group's targets")
    registered = [item["Target"] for item in health if item.get("TargetHealth", {}).get("State") != "draining"]
    want, have = target_set(declared), target_set(registered)
    return [] if want == have else [difference("targets", want, have)]


def compare_tags(module: AWSModule, client: Any, arn: str) -> list[dict[str, Any]]:
    declared = module.params["tags"]
    if declared is None:
        return []
    try:
        descriptions = client.describe_tags(ResourceArns=[arn], aws_retry=True)["TagDescriptions"]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg="Failed to read the target group's tags")
    actual = {tag["Key"]: tag["Value"] for item in descriptions for tag in item.get("Tags", [])}
    declared = {key: str(value) for key, value in declared.items()}
    return [] if actual == declared else [difference("tags", declared, actual)]


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        protocol=dict(type="str"),
        port=dict(type="int"),
        vpc_id=dict(type="str"),
        target_type=dict(type="str"),
        health_check_protocol=dict(type="str"),
        health_check_path=dict(type="str"),
        health_check_port=dict(type="str"),
        health_check_interval=dict(type="int"),
        healthy_threshold_count=dict(type="int"),
        unhealthy_threshold_count=dict(type="int"),
        successful_response_codes=dict(type="str"),
        deregistration_delay_timeout=dict(type="int"),
        targets=dict(type="list", elements="dict"),
        tags=dict(type="dict"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("elbv2", retry_decorator=AWSRetry.jittered_backoff())
    resource = f"target-group/{module.params['name']}"
    group = find_group(module, client)
    if group is None:
        module.exit_json(**drift_result(resource, [difference("target_group", "present", "absent")], exists=False))
    declared = {option: module.params[option] for option in (*GROUP_KEYS, "successful_response_codes")}
    arn = group["TargetGroupArn"]
    # The attributes, targets and tags side by side: each needs only the group's ARN.
    compared = read_in_parallel(
        module,
        {
            "attributes": lambda: compare_attributes(module, client, arn),
            "targets": lambda: compare_targets(module, client, arn),
            "tags": lambda: compare_tags(module, client, arn),
        },
    )
    differences = [
        *compare_scalars(declared, group_settings(group)),
        *compared["attributes"],
        *compared["targets"],
        *compared["tags"],
    ]
    module.exit_json(**drift_result(resource, differences, exists=True, target_group_arn=arn))


if __name__ == "__main__":
    main()
