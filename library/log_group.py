#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: log_group
short_description: Create, update and delete a CloudWatch Logs log group with its retention and tags
version_added: 1.0.0
description:
  - Manages one CloudWatch Logs log group by its O(name) with its retention (O(retention_days)) and tags.
  - Check mode reads only; a retention or tag change is reported with a C(diff) and written only in a real run.
  - Written because C(amazon.aws.cloudwatchlogs_log_group) (amazon.aws 10.1.2) sends PutRetentionPolicy in
    check mode when the retention differs, and deletes the whole log group when asked for a retention its own
    list lacks (1096, 2192, 2557, 2922 and 3288 days, which CloudWatch Logs accepts).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The log group's name.
    type: str
    required: true
  state:
    description: V(present) creates or updates the log group, V(absent) deletes it with its events.
    type: str
    choices: [present, absent]
    default: present
  retention_days:
    description:
      - Days the events are kept; one of the values CloudWatch Logs accepts. Not set leaves the retention alone
        (a new group then keeps its events for ever).
    type: int
    choices: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
  tags:
    description: The log group's tags, exactly (others are removed). Not set leaves the tags alone.
    type: dict
  account_id:
    description:
      - The AWS account the log group is in. Given, the group's tags are read beside the group itself (its ARN
        is known beforehand), so a run that changes nothing makes one round trip to CloudWatch Logs, not two.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Keep Session Manager's session log group for 90 days
  log_group:
    name: /mensetsu/dev/ssm-sessions
    retention_days: 90
    tags:
      Project: mensetsu
      Environment: dev
    account_id: "{{ aws_account_id }}"

- name: Delete it
  log_group:
    name: /mensetsu/dev/ssm-sessions
    state: absent
"""

RETURN = r"""
log_group:
  description: The log group as it is after the task (in check mode, as it would be); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: The name.
      type: str
      sample: /mensetsu/dev/ssm-sessions
    arn:
      description: The log group's ARN (without the C(:*) suffix); empty when only planned.
      type: str
      sample: arn:aws:logs:ap-northeast-1:123456789012:log-group:/mensetsu/dev/ssm-sessions
    retention_days:
      description: The retention in days; null for events kept for ever.
      type: int
      sample: 90
    tags:
      description: The tags.
      type: dict
      sample: {Project: mensetsu}
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AWSModule reports a missing botocore
    import botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.parallel_reads import arn_to_be, read_in_parallel
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

RETENTIONS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]


def describe(client, name: str) -> dict[str, Any] | None:
    pages = client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
    return next((g for page in pages for g in page["logGroups"] if g["logGroupName"] == name), None)


def tags_of(client, arn: str) -> dict[str, str] | None:
    """The group's tags; None when there is no such group."""
    try:
        return client.list_tags_for_resource(resourceArn=arn, aws_retry=True).get("tags", {})
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def read_group(module, client, name: str, account_id: str | None = None) -> dict[str, Any] | None:
    """{name, arn, retention_days, tags} of the log group, None when it does not exist. With the
    account, the tags are read beside the group (by the ARN the group will have), else after it."""
    if account_id:
        arn = arn_to_be(client, "logs", account_id, f"log-group:{name}")  # without DescribeLogGroups' ":*"
        read = read_in_parallel(module, {"group": lambda: describe(client, name), "tags": lambda: tags_of(client, arn)})
        found, tags = read["group"], read["tags"]
    else:
        found, tags = describe(client, name), None
    if found is None:
        return None
    arn = found.get("logGroupArn") or found["arn"].removesuffix(":*")
    if tags is None:  # not read yet, or a group made between the two reads
        tags = tags_of(client, arn) or {}
    return {"name": name, "arn": arn, "retention_days": found.get("retentionInDays"), "tags": tags}


def wanted(params: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """The group as the task declares it; what the task leaves alone stays as it is."""
    current = before or {"name": params["name"], "arn": "", "retention_days": None, "tags": {}}
    after = dict(current)
    if params["retention_days"] is not None:
        after["retention_days"] = params["retention_days"]
    if params["tags"] is not None:
        after["tags"] = {key: str(value) for key, value in params["tags"].items()}
    return after


def converge(module, client, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    name = after["name"]
    if before is None:
        client.create_log_group(logGroupName=name, tags=after["tags"], aws_retry=True)
        before = read_group(module, client, name)
    if after["retention_days"] != before["retention_days"]:
        if after["retention_days"] is None:
            client.delete_retention_policy(logGroupName=name, aws_retry=True)
        else:
            client.put_retention_policy(logGroupName=name, retentionInDays=after["retention_days"], aws_retry=True)
    removed = [key for key in before["tags"] if key not in after["tags"]]
    added = {key: value for key, value in after["tags"].items() if before["tags"].get(key) != value}
    if removed:
        client.untag_resource(resourceArn=before["arn"], tagKeys=removed, aws_retry=True)
    if added:
        client.tag_resource(resourceArn=before["arn"], tags=added, aws_retry=True)


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        retention_days=dict(type="int", choices=RETENTIONS),
        tags=dict(type="dict"),
        account_id=dict(type="str"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("logs", retry_decorator=AWSRetry.jittered_backoff(retries=10))
    name = module.params["name"]
    try:
        before = read_group(module, client, name, module.params["account_id"])
        after = wanted(module.params, before) if module.params["state"] == "present" else None
        changed = before != after
        if changed and not module.check_mode:
            if after is None:
                client.delete_log_group(logGroupName=name, aws_retry=True)
            else:
                converge(module, client, before, after)
                after = read_group(module, client, name)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        module.fail_json_aws(error, msg=f"Could not manage the log group {name}")
    result: dict[str, Any] = {"changed": changed, "log_group": after or {}}
    if changed and module._diff:
        result["diff"] = {"before": before or {}, "after": after or {}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
