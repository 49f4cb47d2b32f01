#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_budget
short_description: Create, update and delete an AWS Budgets cost budget and its notifications
version_added: 1.0.0
description:
  - Manages one AWS Budgets budget of type C(COST), identified by its O(name) in the account.
  - The budget can be limited to the costs that carry given cost-allocation tags (O(cost_filter_tags));
    all the tags must match (an C(And) filter expression). The tags must be activated as cost-allocation
    tags in the Billing console before AWS counts anything against them.
  - The filter is sent as C(FilterExpression) together with C(Metrics) (O(cost_metric)). AWS accepts either
    C(FilterExpression) and C(Metrics), or the legacy C(CostFilters) and C(CostTypes), never another
    combination. In a C(FilterExpression) the tag key is the key as written on the resources (C(Project));
    the C(user:) prefix belongs to the legacy C(CostFilters) form (C(TagKeyValue) C(user:Project$mensetsu)).
  - Notifications (actual or forecasted spend over a percentage of the limit) go to e-mail addresses
    and/or an SNS topic (O(subscribers)); the SNS topic's policy must allow C(budgets.amazonaws.com) to publish.
  - An existing budget is changed with C(UpdateBudget), never deleted and created again (that would lose
    its history); notifications and subscribers are added and removed one by one.
  - A parameter the task does not set leaves that part of an existing budget alone.
  - No module of amazon.aws or community.aws manages AWS Budgets.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The budget's name, unique in the account.
    type: str
    required: true
  state:
    description: V(present) creates or updates the budget, V(absent) deletes it (with its notifications).
    type: str
    choices: [present, absent]
    default: present
  amount:
    description:
      - The budget's limit per O(time_unit), in O(currency). Required to create a budget.
    type: float
  currency:
    description: The unit of O(amount).
    type: str
    default: USD
  time_unit:
    description: The period the limit applies to.
    type: str
    choices: [DAILY, MONTHLY, QUARTERLY, ANNUALLY]
    default: MONTHLY
  cost_filter_tags:
    description:
      - Count only the costs of resources that carry all these tags (tag key to value).
      - An empty dict removes the filter (the whole account's costs count).
    type: dict
  cost_metric:
    description:
      - How the filtered costs are counted, sent as the budget's C(Metrics) with the filter expression.
    type: str
    choices: [UnblendedCost, BlendedCost, AmortizedCost, NetUnblendedCost, NetAmortizedCost]
    default: UnblendedCost
  notifications:
    description:
      - The notifications the budget should have, exactly; others are removed.
      - Not set leaves the notifications alone.
    type: list
    elements: dict
    suboptions:
      type:
        description: V(ACTUAL) spend so far, or the V(FORECASTED) spend of the period.
        type: str
        choices: [ACTUAL, FORECASTED]
        required: true
      threshold:
        description:
          - The threshold, a percentage of the limit (or an amount, see O(notifications[].threshold_type)).
        type: float
        required: true
      comparison:
        description: How spend is compared with the threshold.
        type: str
        choices: [GREATER_THAN, LESS_THAN, EQUAL_TO]
        default: GREATER_THAN
      threshold_type:
        description: Whether O(notifications[].threshold) is a percentage of the limit or an amount.
        type: str
        choices: [PERCENTAGE, ABSOLUTE_VALUE]
        default: PERCENTAGE
  subscribers:
    description:
      - Who every notification goes to. Required when O(notifications) is set and not empty.
      - AWS allows up to 10 e-mail subscribers and 1 SNS topic per notification.
    type: list
    elements: dict
    suboptions:
      protocol:
        description: V(email) or V(sns).
        type: str
        choices: [email, sns]
        required: true
      address:
        description: The e-mail address, or the SNS topic's ARN.
        type: str
        required: true
  account_id:
    description: The account that owns the budget. Default is the caller's account (STS C(GetCallerIdentity)).
    type: str
notes:
  - The AWS Budgets API is global; its endpoint lives in us-east-1 whatever O(region) says.
  - When the endpoint does not implement C(DescribeSubscribersForNotification) (the moto emulator), the
    module warns and does not compare the subscribers of existing notifications.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Keep the development environment's monthly budget with the seed's amount
  aws_budget:
    name: mensetsu-dev-monthly
    amount: 90
    cost_filter_tags:
      Project: mensetsu
      Environment: dev
    notifications:
      - {type: ACTUAL, threshold: 80}
      - {type: FORECASTED, threshold: 100}
    subscribers:
      - {protocol: email, address: ops@mensetsu.example.com}
      - {protocol: sns, address: arn:aws:sns:ap-northeast-1:123456789012:mensetsu-dev-alerts}

- name: Delete the budget
  aws_budget:
    name: mensetsu-dev-monthly
    state: absent
"""

RETURN = r"""
budget:
  description: The budget as AWS describes it after the task (in check mode, as it would be); empty when absent.
  returned: always
  type: dict
  contains:
    budget_name:
      description: The name.
      type: str
      sample: mensetsu-dev-monthly
    budget_limit:
      description: The limit.
      type: dict
      sample: {amount: "90.0", unit: USD}
    time_unit:
      description: The period.
      type: str
      sample: MONTHLY
    filter_expression:
      description: The cost filter.
      type: dict
notifications:
  description: The notifications and their subscribers, in the module's terms.
  returned: always
  type: list
  elements: dict
  sample: [{type: ACTUAL, threshold: 80.0, comparison: GREATER_THAN, threshold_type: PERCENTAGE,
            subscribers: [{protocol: email, address: ops@mensetsu.example.com}]}]
diff:
  description: The budget before and after, in the module's terms.
  returned: always
  type: dict
"""

import contextlib
import functools
from typing import Any

with contextlib.suppress(ImportError):  # AWSModule says when botocore is missing
    import botocore

from ansible.module_utils.aws_account import caller_account
from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.parallel_reads import AWS_ERRORS, early_read, read_in_parallel
from ansible.module_utils.task_warnings import warn
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

NotificationKey = tuple[str, str, str, float]
MISSED = object()  # an early read that got no answer
# Fields AWS computes; never sent back in UpdateBudget.
READ_ONLY_FIELDS = ("CalculatedSpend", "LastUpdatedTime", "HealthStatus")
# The legacy filter pair; AWS refuses it beside FilterExpression and Metrics.
LEGACY_FILTER_FIELDS = ("CostFilters", "CostTypes")


# --- translation between the module's terms and the API's --------------------------------------


def filter_expression(tags: dict[str, str]) -> dict[str, Any] | None:
    """An And of tag matches (a single tag is its own expression); None for no filter."""
    parts = [
        {"Tags": {"Key": key, "Values": [str(value)], "MatchOptions": ["EQUALS"]}}
        for key, value in sorted(tags.items())
    ]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"And": parts}


def tags_of(expression: dict[str, Any] | None) -> dict[str, Any] | None:
    """The tag filter an expression means, or None when it is something this module does not write."""
    if not expression:
        return {}
    parts = expression.get("And", [expression])
    tags: dict[str, Any] = {}
    for part in parts:
        tag = part.get("Tags")
        if set(part) != {"Tags"} or not tag or len(tag.get("Values", [])) != 1:
            return None
        tags[tag["Key"]] = tag["Values"][0]
    return tags


def notification_key(notification: dict[str, Any]) -> NotificationKey:
    return (
        notification["NotificationType"],
        notification.get("ComparisonOperator", "GREATER_THAN"),
        notification.get("ThresholdType", "PERCENTAGE"),
        float(notification["Threshold"]),
    )


def notification_api(key: NotificationKey) -> dict[str, Any]:
    kind, comparison, threshold_type, threshold = key
    return {
        "NotificationType": kind,
        "ComparisonOperator": comparison,
        "Threshold": threshold,
        "ThresholdType": threshold_type,
    }


def subscriber_api(subscriber: dict[str, str]) -> dict[str, str]:
    return {"SubscriptionType": subscriber["protocol"].upper(), "Address": subscriber["address"]}


def subscriber_terms(subscriber: dict[str, str]) -> dict[str, str]:
    return {"protocol": subscriber["SubscriptionType"].lower(), "address": subscriber["Address"]}


def notifications_terms(notifications: dict[NotificationKey, list[dict[str, str]] | None]) -> list[dict[str, Any]]:
    terms = []
    for (kind, comparison, threshold_type, threshold), subscribers in sorted(notifications.items()):
        entry: dict[str, Any] = {
            "type": kind,
            "threshold": threshold,
            "comparison": comparison,
            "threshold_type": threshold_type,
        }
        if subscribers is not None:
            entry["subscribers"] = sorted((subscriber_terms(s) for s in subscribers), key=lambda s: tuple(s.values()))
        terms.append(entry)
    return terms


def budget_terms(budget: dict[str, Any] | None, notifications: dict[NotificationKey, Any] | None) -> dict[str, Any]:
    """What the diff shows: the budget in the module's terms."""
    if not budget:
        return {}
    limit = budget.get("BudgetLimit", {})
    return {
        "name": budget["BudgetName"],
        "amount": float(limit.get("Amount", 0)),
        "currency": limit.get("Unit"),
        "time_unit": budget.get("TimeUnit"),
        "cost_filter_tags": tags_of(budget.get("FilterExpression")),
        "notifications": notifications_terms(notifications or {}),
    }


# --- reading ---------------------------------------------------------------------------------------


def get_budget(module: AWSModule, client: Any, account_id: str) -> dict[str, Any] | None:
    try:
        # Without ShowFilterExpression AWS leaves the filter out of the answer, and every run would update it.
        return client.describe_budget(
            AccountId=account_id, BudgetName=module.params["name"], ShowFilterExpression=True, aws_retry=True
        )["Budget"]
    except is_boto3_error_code("NotFoundException"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Could not describe budget {module.params['name']}")


def get_subscribers(
    module: AWSModule, client: Any, account_id: str, key: NotificationKey
) -> list[dict[str, str]] | None:
    """The notification's subscribers; None when the endpoint does not implement the call (an emulator)."""
    try:
        return subscribers_of(client, account_id, module.params["name"], key)
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("500", "501", "NotImplemented"):
            return None
        module.fail_json_aws(error, msg="Could not describe the subscribers of a budget notification")
    except botocore.exceptions.BotoCoreError as error:
        module.fail_json_aws(error, msg="Could not describe the subscribers of a budget notification")


def subscribers_of(client: Any, account_id: str, name: str, key: NotificationKey) -> list[dict[str, str]]:
    """The notification's subscribers; raises the API's error (NotFoundException: no such notification)."""
    pages = client.get_paginator("describe_subscribers_for_notification").paginate(
        AccountId=account_id, BudgetName=name, Notification=notification_api(key)
    )
    return [subscriber for page in pages for subscriber in page.get("Subscribers", [])]


def notification_keys(module: AWSModule, client: Any, account_id: str) -> list[NotificationKey]:
    """The budget's notifications; raises the API's error (NotFoundException: no such budget)."""
    pages = client.get_paginator("describe_notifications_for_budget").paginate(
        AccountId=account_id, BudgetName=module.params["name"]
    )
    return [notification_key(n) for page in pages for n in page.get("Notifications", [])]


def get_notifications(
    module: AWSModule,
    client: Any,
    account_id: str,
    with_subscribers: bool,
    keys: list[NotificationKey] | None = None,
    known: dict[NotificationKey, list[dict[str, str]]] | None = None,
) -> dict[NotificationKey, list[dict[str, str]] | None]:
    """The budget's notifications (``keys``, or read now) with (``with_subscribers``) their subscribers;
    those in ``known`` (read beside the list) are not read again."""
    if keys is None:
        try:
            keys = notification_keys(module, client, account_id)
        except AWS_ERRORS as error:
            module.fail_json_aws(error, msg="Could not describe the budget's notifications")
    if not with_subscribers or not keys:
        return dict.fromkeys(keys)
    # Every notification's subscribers side by side: one round trip on AWS. An endpoint without the
    # call (an emulator) answers each with an error, all in the same round trip, and one warning says so.
    known = known or {}
    read = read_in_parallel(
        module,
        {key: functools.partial(get_subscribers, module, client, account_id, key) for key in keys if key not in known},
    )
    found = {key: known[key] if key in known else read[key] for key in keys}
    if any(subscribers is None for subscribers in found.values()):
        warn(
            module,
            "The endpoint does not implement DescribeSubscribersForNotification: "
            "the subscribers of existing notifications were not compared.",
        )
    return found


# --- wanted state --------------------------------------------------------------------------------


def desired_budget(module: AWSModule, current: dict[str, Any] | None) -> dict[str, Any]:
    """The budget to send: the current one with what the task sets replaced."""
    params = module.params
    budget = {key: value for key, value in (current or {}).items() if key not in READ_ONLY_FIELDS}
    budget.update({"BudgetName": params["name"], "BudgetType": "COST", "TimeUnit": params["time_unit"]})
    if params["amount"] is not None:
        budget["BudgetLimit"] = {"Amount": str(params["amount"]), "Unit": params["currency"]}
    if params["cost_filter_tags"] is not None:
        expression = filter_expression(params["cost_filter_tags"])
        budget.pop("FilterExpression", None)
        budget.pop("Metrics", None)
        if expression:
            budget["FilterExpression"] = expression
    if budget.get("FilterExpression"):
        # AWS requires Metrics with FilterExpression, and neither beside CostFilters/CostTypes.
        budget["Metrics"] = [params["cost_metric"]]
        for field in LEGACY_FILTER_FIELDS:
            budget.pop(field, None)
    return budget


def budget_differs(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    def comparable(budget: dict[str, Any]) -> tuple:
        limit = budget.get("BudgetLimit", {})
        return (
            float(limit.get("Amount", 0)),
            limit.get("Unit"),
            budget.get("TimeUnit"),
            budget.get("FilterExpression") or {},
        )

    # Metrics are compared where the endpoint reports them (the moto emulator does not).
    metrics_differ = "Metrics" in current and current.get("Metrics") != desired.get("Metrics")
    return comparable(current) != comparable(desired) or metrics_differ


def desired_notifications(module: AWSModule) -> dict[NotificationKey, list[dict[str, str]]] | None:
    wanted = module.params["notifications"]
    if wanted is None:
        return None
    subscribers = [subscriber_api(s) for s in module.params["subscribers"] or []]
    if wanted and not subscribers:
        module.fail_json(msg="subscribers is required when notifications is set")
    keys = [
        (n["type"], n["comparison"], n["threshold_type"], float(n["threshold"]))  # the API's order of fields
        for n in wanted
    ]
    return {key: subscribers for key in keys}


# --- changes ---------------------------------------------------------------------------------------


def create_budget(
    module: AWSModule, client: Any, account_id: str, notifications: dict[NotificationKey, list] | None
) -> dict[str, Any]:
    if module.params["amount"] is None:
        module.fail_json(msg="amount is required to create a budget")
    budget = desired_budget(module, None)
    if not module.check_mode:
        try:
            client.create_budget(
                AccountId=account_id,
                Budget=budget,
                NotificationsWithSubscribers=[
                    {"Notification": notification_api(key), "Subscribers": subscribers}
                    for key, subscribers in (notifications or {}).items()
                ],
                aws_retry=True,
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            module.fail_json_aws(error, msg=f"Could not create budget {budget['BudgetName']}")
    return budget


def update_budget(module: AWSModule, client: Any, account_id: str, current: dict[str, Any]) -> bool:
    """UpdateBudget (never delete + create: that would lose the budget's history); True when it changed."""
    desired = desired_budget(module, current)
    if not budget_differs(current, desired):
        return False
    if not module.check_mode:
        try:
            client.update_budget(AccountId=account_id, NewBudget=desired, aws_retry=True)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            module.fail_json_aws(error, msg=f"Could not update budget {desired['BudgetName']}")
    return True


def sync_subscribers(
    module: AWSModule, client: Any, account_id: str, key: NotificationKey, current: list, wanted: list
) -> bool:
    def as_set(subscribers: list[dict[str, str]]) -> set[tuple[str, str]]:
        return {(s["SubscriptionType"], s["Address"]) for s in subscribers}

    to_add = as_set(wanted) - as_set(current)
    to_remove = as_set(current) - as_set(wanted)
    if module.check_mode:
        return bool(to_add or to_remove)
    common = {"AccountId": account_id, "BudgetName": module.params["name"], "Notification": notification_api(key)}
    try:
        for kind, address in sorted(to_add):
            client.create_subscriber(
                **common, Subscriber={"SubscriptionType": kind, "Address": address}, aws_retry=True
            )
        for kind, address in sorted(to_remove):
            client.delete_subscriber(
                **common, Subscriber={"SubscriptionType": kind, "Address": address}, aws_retry=True
            )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg="Could not change the subscribers of a budget notification")
    return bool(to_add or to_remove)


def sync_notifications(
    module: AWSModule,
    client: Any,
    account_id: str,
    current: dict[NotificationKey, list | None],
    wanted: dict[NotificationKey, list],
) -> bool:
    changed = False
    common = {"AccountId": account_id, "BudgetName": module.params["name"]}
    try:
        for key in sorted(set(current) - set(wanted)):
            changed = True
            if not module.check_mode:
                client.delete_notification(**common, Notification=notification_api(key), aws_retry=True)
        for key in sorted(set(wanted) - set(current)):
            changed = True
            if not module.check_mode:
                client.create_notification(
                    **common, Notification=notification_api(key), Subscribers=wanted[key], aws_retry=True
                )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg="Could not change the budget's notifications")
    for key in sorted(set(wanted) & set(current)):
        if current[key] is not None:
            changed |= sync_subscribers(module, client, account_id, key, current[key], wanted[key])
    return changed


def delete_budget(module: AWSModule, client: Any, account_id: str) -> None:
    if module.check_mode:
        return
    try:
        client.delete_budget(AccountId=account_id, BudgetName=module.params["name"], aws_retry=True)
    except is_boto3_error_code("NotFoundException"):
        return
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Could not delete budget {module.params['name']}")


# --- the module ----------------------------------------------------------------------------------


def ensure_present(module: AWSModule, client: Any, account_id: str) -> tuple[bool, dict, dict, dict]:
    wanted_notifications = desired_notifications(module)
    with_subscribers = wanted_notifications is not None
    # The budget, its notifications and the declared notifications' subscribers side by side: all are
    # asked by names the task gives (one round trip on a run that changes nothing).
    reads: dict[Any, Any] = {
        "budget": lambda: get_budget(module, client, account_id),
        # Any error set aside (None): it matters only for a budget that exists, read again below.
        "keys": early_read(lambda: notification_keys(module, client, account_id)),
    }
    for key in wanted_notifications or {}:
        # Not found, or an endpoint without the call: set aside, and asked again below if it matters.
        reads[("subscribers", key)] = early_read(
            functools.partial(subscribers_of, client, account_id, module.params["name"], key), missed=MISSED
        )
    read = read_in_parallel(module, reads)
    current, keys = read["budget"], read["keys"]
    early_subscribers = {
        name[1]: value for name, value in read.items() if isinstance(name, tuple) and value is not MISSED
    }
    if current is None:
        budget = create_budget(module, client, account_id, wanted_notifications)
        after = budget_terms(budget, wanted_notifications)
        return True, {}, after, budget
    # An error for a budget that exists (or was made between the two reads) is asked again, and fails.
    current_notifications = get_notifications(module, client, account_id, with_subscribers, keys, early_subscribers)
    before = budget_terms(current, current_notifications)
    changed = update_budget(module, client, account_id, current)
    if wanted_notifications is not None:
        changed |= sync_notifications(module, client, account_id, current_notifications, wanted_notifications)
    budget = desired_budget(module, current)
    if wanted_notifications is None:
        after_notifications = current_notifications
    else:  # subscribers the endpoint could not describe stay unknown on both sides of the diff
        after_notifications = {
            key: None if current_notifications.get(key, []) is None else subscribers
            for key, subscribers in wanted_notifications.items()
        }
    after = budget_terms(budget, after_notifications)
    if not module.check_mode and changed:
        budget = get_budget(module, client, account_id) or budget
    return changed, before, after, budget


def main() -> None:
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "amount": {"type": "float"},
        "currency": {"type": "str", "default": "USD"},
        "time_unit": {"type": "str", "choices": ["DAILY", "MONTHLY", "QUARTERLY", "ANNUALLY"], "default": "MONTHLY"},
        "cost_filter_tags": {"type": "dict"},
        "cost_metric": {
            "type": "str",
            "choices": ["UnblendedCost", "BlendedCost", "AmortizedCost", "NetUnblendedCost", "NetAmortizedCost"],
            "default": "UnblendedCost",
        },
        "notifications": {
            "type": "list",
            "elements": "dict",
            "options": {
                "type": {"type": "str", "choices": ["ACTUAL", "FORECASTED"], "required": True},
                "threshold": {"type": "float", "required": True},
                "comparison": {
                    "type": "str",
                    "choices": ["GREATER_THAN", "LESS_THAN", "EQUAL_TO"],
                    "default": "GREATER_THAN",
                },
                "threshold_type": {
                    "type": "str",
                    "choices": ["PERCENTAGE", "ABSOLUTE_VALUE"],
                    "default": "PERCENTAGE",
                },
            },
        },
        "subscribers": {
            "type": "list",
            "elements": "dict",
            "options": {
                "protocol": {"type": "str", "choices": ["email", "sns"], "required": True},
                "address": {"type": "str", "required": True},
            },
        },
        "account_id": {"type": "str"},
    }
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("budgets", retry_decorator=AWSRetry.jittered_backoff())
    account_id = caller_account(module)

    if module.params["state"] == "absent":
        current = get_budget(module, client, account_id)
        before = budget_terms(current, get_notifications(module, client, account_id, False) if current else None)
        if current is not None:
            delete_budget(module, client, account_id)
        module.exit_json(changed=current is not None, budget={}, notifications=[], diff={"before": before, "after": {}})

    changed, before, after, budget = ensure_present(module, client, account_id)
    module.exit_json(
        changed=changed,
        budget=camel_dict_to_snake_dict(budget, ignore_list=["FilterExpression"]),
        notifications=after["notifications"],
        diff={"before": before, "after": after},
    )


if __name__ == "__main__":
    main()
