#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_flow_log
short_description: A VPC's flow log to a CloudWatch Logs group, idempotent
version_added: 1.0.0
description:
  - Keeps one flow log of a VPC that delivers to a CloudWatch Logs group. The flow log is
    identified by the VPC and the log group (C(DescribeFlowLogs) filtered on both), so a second
    run finds it instead of creating another.
  - A flow log cannot be modified except for its tags. When the traffic type, the delivery role,
    the aggregation interval or the log format differ from the task, the flow log is replaced
    (deleted, then created), and RV(diff) says which attributes differed.
  - O(state=absent) deletes every flow log of the VPC to that log group.
  - In check mode it sends only C(DescribeFlowLogs) and reports what a real run would change.
  - It neither creates the log group nor the delivery role (M(amazon.aws.cloudwatchlogs_log_group),
    M(amazon.aws.iam_role)).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  vpc_id:
    description: The VPC whose traffic is logged.
    type: str
    required: true
  log_group_name:
    description: The CloudWatch Logs group the flow log delivers to.
    type: str
    required: true
  deliver_logs_permission_arn:
    description:
      - The ARN of the IAM role that the flow logs service assumes to write to the log group.
      - Required with O(state=present).
    type: str
  traffic_type:
    description: Which traffic is logged.
    type: str
    choices: [ACCEPT, REJECT, ALL]
    default: ALL
  max_aggregation_interval:
    description: Seconds over which a flow is aggregated into one record.
    type: int
    choices: [60, 600]
    default: 600
  log_format:
    description:
      - The fields of a record, in the C(${field} ...) form. Not set means AWS's default format
        (and an existing flow log's format is not compared).
    type: str
  state:
    description: Whether the flow log exists.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Log every flow of the VPC to CloudWatch Logs
  ec2_vpc_flow_log:
    vpc_id: vpc-0123456789abcdef0
    log_group_name: /mensetsu/dev/vpc-flow-logs
    deliver_logs_permission_arn: arn:aws:iam::123456789012:role/mensetsu-dev-flow-logs
    traffic_type: ALL
    tags: {Project: mensetsu, Environment: dev}

- name: Remove the VPC's flow log to that group
  ec2_vpc_flow_log:
    vpc_id: vpc-0123456789abcdef0
    log_group_name: /mensetsu/dev/vpc-flow-logs
    state: absent
"""

RETURN = r"""
flow_log:
  description: The flow log after the run (in check mode, as it would be); empty when absent.
  returned: always
  type: dict
  contains:
    flow_log_id:
      description: The flow log's id (not known in check mode before it exists).
      type: str
      sample: fl-0123456789abcdef0
    resource_id: {description: The VPC., type: str}
    log_group_name: {description: The log group., type: str}
    deliver_logs_permission_arn: {description: The delivery role's ARN., type: str}
    traffic_type: {description: The traffic logged., type: str}
    max_aggregation_interval: {description: The aggregation interval in seconds., type: int}
    log_format: {description: The record format., type: str}
    flow_log_status: {description: The flow log's status (ACTIVE)., type: str}
    deliver_logs_status: {description: Whether delivery works (SUCCESS or FAILED)., type: str}
    tags: {description: The flow log's tags., type: dict}
flow_log_ids:
  description: The ids of the flow logs deleted (O(state=absent)) or replaced.
  returned: always
  type: list
  elements: str
diff:
  description: The compared attributes before and after, when something changes.
  returned: when changed
  type: dict
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)

# The attributes a flow log is created with and cannot change: task option -> API field.
IMMUTABLE = {
    "deliver_logs_permission_arn": "DeliverLogsPermissionArn",
    "traffic_type": "TrafficType",
    "max_aggregation_interval": "MaxAggregationInterval",
    "log_format": "LogFormat",
}


def find_flow_logs(module: AWSModule, client: Any) -> list[dict[str, Any]]:
    """The VPC's flow logs to the log group (one read)."""
    filters = [
        {"Name": "resource-id", "Values": [module.params["vpc_id"]]},
        {"Name": "log-destination-type", "Values": ["cloud-watch-logs"]},
        {"Name": "log-group-name", "Values": [module.params["log_group_name"]]},
    ]
    try:
        paginator = client.get_paginator("describe_flow_logs")
        return paginator.paginate(Filter=filters).build_full_result()["FlowLogs"]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the flow logs of {module.params['vpc_id']}")
    return []


def differing(module: AWSModule, flow_log: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Option -> (actual, declared) for each attribute that differs; an option not set is not compared."""
    found = {}
    for option, key in IMMUTABLE.items():
        want = module.params[option]
        if want is not None and flow_log.get(key) != want:
            found[option] = (flow_log.get(key), want)
    return found


def shaped(flow_log: dict[str, Any]) -> dict[str, Any]:
    result = camel_dict_to_snake_dict({key: value for key, value in flow_log.items() if key != "Tags"})
    result["tags"] = boto3_tag_list_to_ansible_dict(flow_log.get("Tags", []))
    return result


def declared(module: AWSModule, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The flow log as the task declares it (in the API's shape), over what exists."""
    flow_log = dict(current or {})
    flow_log.update({"ResourceId": module.params["vpc_id"], "LogGroupName": module.params["log_group_name"]})
    flow_log.update(
        {key: module.params[option] for option, key in IMMUTABLE.items() if module.params[option] is not None}
    )
    if module.params["tags"] is not None:
        have = boto3_tag_list_to_ansible_dict(flow_log.get("Tags", []))
        tags = module.params["tags"] if module.params["purge_tags"] else {**have, **module.params["tags"]}
        flow_log["Tags"] = ansible_dict_to_boto3_tag_list(tags)
    return flow_log


def delete(module: AWSModule, client: Any, ids: list[str]) -> None:
    if not ids or module.check_mode:
        return
    try:
        response = client.delete_flow_logs(FlowLogIds=ids, aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to delete flow logs {ids}")
    if response.get("Unsuccessful"):
        module.fail_json(msg=f"Failed to delete flow logs: {response['Unsuccessful']}")


def create(module: AWSModule, client: Any) -> dict[str, Any]:
    flow_log = declared(module)
    if module.check_mode:
        return flow_log
    params: dict[str, Any] = {
        "ResourceIds": [module.params["vpc_id"]],
        "ResourceType": "VPC",
        "LogDestinationType": "cloud-watch-logs",
        **{key: value for key, value in flow_log.items() if key in IMMUTABLE.values() or key == "LogGroupName"},
    }
    if flow_log.get("Tags"):
        params["TagSpecifications"] = [{"ResourceType": "vpc-flow-log", "Tags": flow_log["Tags"]}]
    try:
        response = client.create_flow_logs(aws_retry=True, **params)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to create the flow log of {module.params['vpc_id']}")
    if response.get("Unsuccessful") or not response.get("FlowLogIds"):
        module.fail_json(msg=f"Failed to create the flow log: {response.get('Unsuccessful')}")
    found = find_flow_logs(module, client)
    return next((item for item in found if item["FlowLogId"] in response["FlowLogIds"]), flow_log)


def update_tags(module: AWSModule, client: Any, flow_log: dict[str, Any]) -> bool:
    if module.params["tags"] is None:
        return False
    have = boto3_tag_list_to_ansible_dict(flow_log.get("Tags", []))
    to_set, to_unset = compare_aws_tags(have, module.params["tags"], module.params["purge_tags"])
    if not (to_set or to_unset):
        return False
    if module.check_mode:
        return True
    try:
        if to_unset:
            client.delete_tags(
                Resources=[flow_log["FlowLogId"]], Tags=[{"Key": key} for key in to_unset], aws_retry=True
            )
        if to_set:
            client.create_tags(
                Resources=[flow_log["FlowLogId"]], Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True
            )
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to tag flow log {flow_log['FlowLogId']}")
    return True


def comparable(flow_log: dict[str, Any] | None) -> dict[str, Any]:
    """The attributes the diff shows."""
    if not flow_log:
        return {}
    keys = ("ResourceId", "LogGroupName", *IMMUTABLE.values())
    result = camel_dict_to_snake_dict({key: flow_log[key] for key in keys if key in flow_log})
    result["tags"] = boto3_tag_list_to_ansible_dict(flow_log.get("Tags", []))
    return result


def ensure_present(module: AWSModule, client: Any) -> None:
    if not module.params["deliver_logs_permission_arn"]:
        module.fail_json(msg="deliver_logs_permission_arn is required with state=present")
    found = find_flow_logs(module, client)
    keep = next((item for item in found if not differing(module, item)), None)
    # Every other flow log of the VPC to this group differs from the task: replaced (a flow log
    # cannot be modified), or a duplicate beside the one kept.
    stale = [item["FlowLogId"] for item in found if item is not keep]
    delete(module, client, stale)
    if keep is None:
        after = create(module, client)
        before = found[0] if found else None
        module.exit_json(
            changed=True,
            flow_log=shaped(after),
            flow_log_ids=stale,
            diff={"before": comparable(before), "after": comparable(declared(module, before))},
        )
    tags_changed = update_tags(module, client, keep)
    changed = tags_changed or bool(stale)
    after = declared(module, keep)
    result: dict[str, Any] = {"changed": changed, "flow_log": shaped(after), "flow_log_ids": stale}
    if changed:
        result["diff"] = {
            "before": {"flow_logs": [comparable(item) for item in found]},
            "after": {"flow_logs": [comparable(after)]},
        }
    module.exit_json(**result)


def ensure_absent(module: AWSModule, client: Any) -> None:
    found = find_flow_logs(module, client)
    ids = [item["FlowLogId"] for item in found]
    delete(module, client, ids)
    result: dict[str, Any] = {"changed": bool(ids), "flow_log": {}, "flow_log_ids": ids}
    if ids:
        result["diff"] = {"before": {"flow_logs": [comparable(item) for item in found]}, "after": {"flow_logs": []}}
    module.exit_json(**result)


def main() -> None:
    argument_spec = dict(
        vpc_id=dict(type="str", required=True),
        log_group_name=dict(type="str", required=True),
        deliver_logs_permission_arn=dict(type="str"),
        traffic_type=dict(type="str", choices=["ACCEPT", "REJECT", "ALL"], default="ALL"),
        max_aggregation_interval=dict(type="int", choices=[60, 600], default=600),
        log_format=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff(retries=10))
    if module.params["state"] == "present":
        ensure_present(module, client)
    ensure_absent(module, client)


if __name__ == "__main__":
    main()
