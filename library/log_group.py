#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: log_group
short_description: Create, update and delete a CloudWatch Logs log group with its retention and tags
version_added: 1.0.0
description:
  - Manages one CloudWatch Logs log group by its O(name), or several of the same retention and tags by their
    O(names), with its retention (O(retention_days)) and tags.
  - Several O(names) are read together, side by side (one DescribeLogGroups by the prefix they share, and, with
    O(account_id), each one's tags), so a loop of this module's tasks costs one round trip instead of one each.
  - Check mode reads only; a retention or tag change is reported with a C(diff) and written only in a real run.
  - Written because C(amazon.aws.cloudwatchlogs_log_group) (amazon.aws 10.1.2) sends PutRetentionPolicy in
    check mode when the retention differs, and deletes the whole log group when asked for a retention its own
    list lacks (1096, 2192, 2557, 2922 and 3288 days, which CloudWatch Logs accepts).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The log group's name. One of O(name) and O(names) is required.
    type: str
  names:
    description:
      - Several log groups that take the same O(state), O(retention_days) and O(tags); each has its own result
        in RV(results).
    type: list
    elements: str
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
results:
  description: With O(names), one result per log group, in the order of O(names).
  returned: with O(names)
  type: list
  elements: dict
  contains:
    name: {description: The log group's name., type: str}
    changed: {description: Whether the log group was (or in check mode would be) changed., type: bool}
    log_group: {description: As RV(log_group) for that group., type: dict}
    diff: {description: "Its before and after, when it changed.", type: dict}
    drift_kind: {description: "V(log_group): the kind the drift report names it by.", type: str}
log_group:
  description: The log group as it is after the task (in check mode, as it would be); empty when absent.
  returned: with O(name)
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
import os
from typing import Any

with contextlib.suppress(ImportError):  # AWSModule reports a missing botocore
    import botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.parallel_reads import arn_to_be, read_in_parallel
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

RETENTIONS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]


def describe(client, name: str) -> dict[str, Any] | None:
    return describe_all(client, [name])[name]


def describe_all(client, names: list[str]) -> dict[str, dict[str, Any] | None]:
    """Each group by its name (None when it does not exist), from one paged DescribeLogGroups by the
    prefix the names share."""
    prefix = os.path.commonprefix(names)  # noqa: RUF071 - a name prefix, character by character, is what the API takes
    if len(names) > 1 and "/" not in prefix.strip("/"):
        # No shared path (a prefix such as "/" or "/aws/" would page through most of the account's
        # groups): each name on its own.
        found = {}
        for name in names:
            found.update(describe_all(client, [name]))
        return found
    pages = client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix)
    found = {group["logGroupName"]: group for page in pages for group in page["logGroups"]}
    return {name: found.get(name) for name in names}


def tags_of(client, arn: str) -> dict[str, str] | None:
    """The group's tags; None when there is no such group."""
    try:
        return client.list_tags_for_resource(resourceArn=arn, aws_retry=True).get("tags", {})
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def read_group(module, client, name: str, account_id: str | None = None) -> dict[str, Any] | None:
    """{name, arn, retention_days, tags} of the log group, None when it does not exist."""
    return read_groups(module, client, [name], account_id)[name]


def read_groups(module, client, names: list[str], account_id: str | None = None) -> dict[str, dict[str, Any] | None]:
    """{name, arn, retention_days, tags} of each log group, None for one that does not exist. With the
    account, the tags are read beside the groups (by the ARNs the groups will have), else after them."""
    reads: dict[Any, Any] = {"groups": lambda: describe_all(client, names)}
    if account_id:
        for name in names:
            arn = arn_to_be(client, "logs", account_id, f"log-group:{name}")  # without DescribeLogGroups' ":*"
            reads[("tags", name)] = lambda arn=arn: tags_of(client, arn)
    read = read_in_parallel(module, reads)
    groups: dict[str, dict[str, Any] | None] = {}
    for name in names:
        found, tags = read["groups"][name], read.get(("tags", name))
        if found is None:
            groups[name] = None
            continue
        arn = found.get("logGroupArn") or found["arn"].removesuffix(":*")
        if tags is None:  # not read yet, or a group made between the two reads
            tags = tags_of(client, arn) or {}
        groups[name] = {"name": name, "arn": arn, "retention_days": found.get("retentionInDays"), "tags": tags}
    return groups


def wanted(params: dict[str, Any], name: str, before: dict[str, Any] | None) -> dict[str, Any]:
    """The group as the task declares it; what the task leaves alone stays as it is."""
    current = before or {"name": name, "arn": "", "retention_days": None, "tags": {}}
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


def manage(module, client, name: str, before: dict[str, Any] | None) -> dict[str, Any]:
    """The result of one log group: compared with its declaration, written unless in check mode."""
    after = wanted(module.params, name, before) if module.params["state"] == "present" else None
    changed = before != after
    if changed and not module.check_mode:
        if after is None:
            client.delete_log_group(logGroupName=name, aws_retry=True)
        else:
            converge(module, client, before, after)
            after = read_group(module, client, name)
    result: dict[str, Any] = {"changed": changed, "log_group": after or {}}
    if changed and module._diff:
        result["diff"] = {"before": before or {}, "after": after or {}}
    return result


def main() -> None:
    argument_spec = dict(
        name=dict(type="str"),
        names=dict(type="list", elements="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        retention_days=dict(type="int", choices=RETENTIONS),
        tags=dict(type="dict"),
        account_id=dict(type="str"),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("name", "names")],
        required_one_of=[("name", "names")],
    )
    client = module.client("logs", retry_decorator=AWSRetry.jittered_backoff(retries=10))
    names = module.params["names"] if module.params["names"] is not None else [module.params["name"]]
    results = []
    try:
        current = read_groups(module, client, names, module.params["account_id"])
        for name in names:
            results.append({"name": name, "drift_kind": "log_group", **manage(module, client, name, current[name])})
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        module.fail_json_aws(error, msg=f"Could not manage the log group {', '.join(names)}")
    if module.params["names"] is None:
        single = results[0]
        module.exit_json(**{key: value for key, value in single.items() if key in ("changed", "log_group", "diff")})
    changed = [result for result in results if result["changed"]]
    diff = {
        "before": {result["name"]: result["diff"]["before"] for result in changed if "diff" in result},
        "after": {result["name"]: result["diff"]["after"] for result in changed if "diff" in result},
    }
    module.exit_json(changed=bool(changed), results=results, **({"diff": diff} if changed and module._diff else {}))


if __name__ == "__main__":
    main()
