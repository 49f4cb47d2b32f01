#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sns_topic_by_arn
short_description: Create, update or delete an SNS topic whose ARN is known, reading it by that ARN
version_added: 1.0.0
description:
  - Reads the topic by its ARN (V(arn:<partition>:sns:<region>:<account>:<name>), known from the
    account and the name) with C(GetTopicAttributes), and, side by side, its subscriptions
    (C(ListSubscriptionsByTopic)) and tags (C(ListTagsForResource)) where the task declares them;
    then writes only what differs.
  - It exists because M(community.aws.sns_topic) finds its topic by paging C(ListTopics) through
    every topic of the account (twice a run), reads the attributes and the subscriptions twice,
    and fails in check mode when the topic does not exist yet. This module sends three reads, in
    flight together, and plans a creation in check mode.
  - "The comparison that decides C(changed) is the one the write path uses: the topic as declared
    (O(display_name), O(policy) compared as a policy, not as text, O(subscriptions), O(tags)) against the
    topic as read. A setting the task leaves out is left alone."
  - "A subscription waiting for its confirmation (an e-mail not yet confirmed: AWS lists its
    C(SubscriptionArn) as V(PendingConfirmation)) counts as existing; one that is not declared cannot be
    removed (it has no ARN; AWS deletes it after three days) and is left alone."
  - Check mode sends no write.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  arn:
    description: The topic's ARN; its last part is the topic's name.
    type: str
    required: true
  state:
    description: Whether the topic exists. V(absent) deletes it (AWS deletes its subscriptions with it).
    type: str
    choices: [present, absent]
    default: present
  display_name:
    description: The topic's display name (the sender's name of its e-mails); not set leaves it alone.
    type: str
  policy:
    description: The topic's access policy; not set leaves it alone.
    type: dict
  subscriptions:
    description: The subscriptions the topic has; not set leaves them alone.
    type: list
    elements: dict
    suboptions:
      protocol:
        description: The protocol (V(email), V(sqs), V(https), ...).
        type: str
        required: true
      endpoint:
        description: The endpoint (an e-mail address, a queue's ARN, a URL, ...).
        type: str
        required: true
  purge_subscriptions:
    description: Remove the confirmed subscriptions O(subscriptions) does not list.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the alert topic with the operator's e-mail subscription
  sns_topic_by_arn:
    arn: arn:aws:sns:ap-northeast-1:123456789012:mensetsu-prod-alerts
    display_name: mensetsu-prod alerts
    policy: "{{ topic_policy }}"
    subscriptions:
      - {protocol: email, endpoint: ops@mensetsu.example.com}
    tags: {Project: mensetsu, Environment: prod}

- name: Delete the alert topic
  sns_topic_by_arn:
    arn: arn:aws:sns:ap-northeast-1:123456789012:mensetsu-prod-alerts
    state: absent
"""

RETURN = r"""
topic_arn:
  description: The topic's ARN.
  returned: always
  type: str
  sample: arn:aws:sns:ap-northeast-1:123456789012:mensetsu-prod-alerts
name:
  description: The topic's name.
  returned: always
  type: str
  sample: mensetsu-prod-alerts
topic:
  description: >-
    The topic as it is after the task (in check mode, as it would be); empty when it is absent.
    C(subscriptions) are V(<protocol>:<endpoint>), sorted.
  returned: always
  type: dict
  sample: {display_name: mensetsu-prod alerts, policy: {}, subscriptions: ["email:ops@mensetsu.example.com"], tags: {}}
changes:
  description: "What was (or, in check mode, would be) done: V(create), V(display name), V(policy),
    V(subscribe), V(unsubscribe), V(tag), V(untag), V(delete)."
  returned: always
  type: list
  elements: str
"""

import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.tag_sync import apply_tag_changes, plan_tag_changes
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)

# The SubscriptionArn SNS lists for a subscription that has none (yet, or any more).
NO_ARN = ("PendingConfirmation", "Deleted")
# What SNS answers for a topic it does not know: GetTopicAttributes and ListSubscriptionsByTopic
# NotFound; ListTagsForResource ResourceNotFound.
NOT_FOUND = ["NotFound", "ResourceNotFound"]


def subscription_key(protocol: str, endpoint: str) -> str:
    """`protocol:endpoint`, the endpoint as SNS stores it (a phone number in E.164 digits)."""
    if protocol == "sms":
        endpoint = re.sub(r"[^0-9+]", "", endpoint)
    return f"{protocol}:{endpoint}"


def read_subscriptions(client: Any, arn: str) -> dict[str, str]:
    """{`protocol:endpoint`: SubscriptionArn (or PendingConfirmation)} of the topic (all pages)."""
    found: dict[str, str] = {}
    request: dict[str, Any] = {"TopicArn": arn}
    while True:
        page = client.list_subscriptions_by_topic(aws_retry=True, **request)
        for item in page.get("Subscriptions", []):
            found[subscription_key(item["Protocol"], item["Endpoint"])] = item["SubscriptionArn"]
        if not page.get("NextToken"):
            return found
        request["NextToken"] = page["NextToken"]


def absent_if_not_found(read: Any) -> Any:
    try:
        return read()
    except is_boto3_error_code(NOT_FOUND):
        return None


def read_topic(client: Any, arn: str, subscriptions: bool, tags: bool) -> dict[str, Any] | None:
    """The topic's attributes, and where asked its subscriptions and tags, read side by side; None when
    the topic does not exist (the reads beside the attributes then answer NotFound too: ignored)."""
    reads = {"attributes": lambda: client.get_topic_attributes(TopicArn=arn, aws_retry=True)["Attributes"]}
    if subscriptions:
        reads["subscriptions"] = lambda: read_subscriptions(client, arn)
    if tags:
        reads["tags"] = lambda: boto3_tag_list_to_ansible_dict(
            client.list_tags_for_resource(ResourceArn=arn, aws_retry=True).get("Tags", [])
        )
    with ThreadPoolExecutor(max_workers=len(reads)) as pool:
        futures = {key: pool.submit(absent_if_not_found, read) for key, read in reads.items()}
        answers = {key: future.result() for key, future in futures.items()}
    attributes = answers["attributes"]
    if attributes is None:
        return None
    return {
        "display_name": attributes.get("DisplayName", ""),
        "policy": json.loads(attributes["Policy"]) if attributes.get("Policy") else {},
        "subscriptions": answers.get("subscriptions") or {},
        "tags": answers.get("tags") or {},
    }


def wanted(params: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """The topic as the task declares it; what the task leaves out stays as it is. An equivalent
    policy (same statements, another order or spelling) stays as it is too."""
    before = current or {"display_name": "", "policy": {}, "subscriptions": {}, "tags": {}}
    after = {key: value for key, value in before.items() if key != "subscriptions"}
    if params["display_name"] is not None:
        after["display_name"] = params["display_name"]
    if params["policy"] is not None and (current is None or compare_policies(params["policy"], before["policy"])):
        after["policy"] = params["policy"]
    declared = params["subscriptions"]
    have = before["subscriptions"]
    if declared is None:
        after["subscriptions"] = sorted(have)
    else:
        keys = {subscription_key(item["protocol"], item["endpoint"]) for item in declared}
        # Kept: what is declared, and what cannot (a pending one) or must not (no purge) be removed.
        kept = {key for key, sub_arn in have.items() if sub_arn in NO_ARN or not params["purge_subscriptions"]}
        after["subscriptions"] = sorted(keys | kept)
    after["tags"] = plan_tag_changes(before["tags"], params["tags"], params["purge_tags"]).after
    return after


def shown(state: dict[str, Any] | None) -> dict[str, Any]:
    """A state as the result and the diff show it (subscriptions as a sorted list)."""
    if state is None:
        return {}
    return {**state, "subscriptions": sorted(state["subscriptions"])}


def plan(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """What turns `before` into `after`: the one comparison, for the check and the write path."""
    if after is None:
        return ["delete"] if before is not None else []
    if before is None:
        changes = ["create"]
        changes += ["subscribe"] if after["subscriptions"] else []
        return changes
    changes = [
        label for key, label in (("display_name", "display name"), ("policy", "policy")) if before[key] != after[key]
    ]
    changes += ["subscribe"] if set(after["subscriptions"]) - set(before["subscriptions"]) else []
    changes += ["unsubscribe"] if set(before["subscriptions"]) - set(after["subscriptions"]) else []
    tags = plan_tag_changes(before["tags"], after["tags"], purge_tags=True)  # as apply() sends them
    changes += ["tag"] if tags.to_set else []
    changes += ["untag"] if tags.to_remove else []
    return changes


def apply(client: Any, arn: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """Send the writes that turn `before` into `after`; the topic's ARN."""
    if after is None:
        client.delete_topic(TopicArn=arn, aws_retry=True)
        return arn
    if before is None:
        attributes = {"DisplayName": after["display_name"]} if after["display_name"] else {}
        if after["policy"]:
            attributes["Policy"] = json.dumps(after["policy"])
        request: dict[str, Any] = {"Name": arn.rsplit(":", 1)[-1], "Attributes": attributes}
        if after["tags"]:
            request["Tags"] = ansible_dict_to_boto3_tag_list(after["tags"])
        arn = client.create_topic(aws_retry=True, **request)["TopicArn"]
        before = {
            "display_name": after["display_name"],
            "policy": after["policy"],
            "subscriptions": {},
            "tags": after["tags"],
        }
    if before["display_name"] != after["display_name"]:
        client.set_topic_attributes(
            TopicArn=arn, AttributeName="DisplayName", AttributeValue=after["display_name"], aws_retry=True
        )
    if before["policy"] != after["policy"]:
        client.set_topic_attributes(
            TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(after["policy"]), aws_retry=True
        )
    for key in sorted(set(before["subscriptions"]) - set(after["subscriptions"])):
        client.unsubscribe(SubscriptionArn=before["subscriptions"][key], aws_retry=True)
    for key in sorted(set(after["subscriptions"]) - set(before["subscriptions"])):
        protocol, endpoint = key.split(":", 1)
        client.subscribe(TopicArn=arn, Protocol=protocol, Endpoint=endpoint, aws_retry=True)
    tags = plan_tag_changes(before["tags"], after["tags"], purge_tags=True)
    apply_tag_changes(
        tags,
        check_mode=False,
        add_tags=lambda add: client.tag_resource(
            ResourceArn=arn, Tags=ansible_dict_to_boto3_tag_list(add), aws_retry=True
        ),
        remove_tags=lambda keys: client.untag_resource(ResourceArn=arn, TagKeys=keys, aws_retry=True),
    )
    return arn


def main() -> None:
    argument_spec = dict(
        arn=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        display_name=dict(type="str"),
        policy=dict(type="dict"),
        subscriptions=dict(
            type="list",
            elements="dict",
            options=dict(protocol=dict(type="str", required=True), endpoint=dict(type="str", required=True)),
        ),
        purge_subscriptions=dict(type="bool", default=True),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    arn = params["arn"]
    if not re.fullmatch(r"arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?", arn):
        module.fail_json(msg=f"arn: {arn!r} is not an SNS topic's ARN (arn:<partition>:sns:<region>:<account>:<name>)")
    client = module.client("sns", retry_decorator=AWSRetry.jittered_backoff(retries=10))
    present = params["state"] == "present"
    try:
        current = read_topic(
            client, arn, present and params["subscriptions"] is not None, present and params["tags"] is not None
        )
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the SNS topic {arn}")
    after = wanted(params, current) if present else None
    changes = plan(shown(current) if current else None, after)
    if changes and not module.check_mode:
        try:
            arn = apply(client, arn, current, after)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to {changes[0]} the SNS topic {arn}")
    result: dict[str, Any] = {
        "changed": bool(changes),
        "changes": changes,
        "topic_arn": arn,
        "name": arn.rsplit(":", 1)[-1],
        "topic": after or {},
    }
    if changes and module._diff:
        result["diff"] = {"before": shown(current), "after": after or {}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
