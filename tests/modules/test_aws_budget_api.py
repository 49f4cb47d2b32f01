"""library/aws_budget.py against what the AWS Budgets API itself accepts, offline.

The moto emulator stores any budget it is given; AWS refuses a FilterExpression without Metrics (and
either beside the legacy CostFilters/CostTypes), and leaves the filter out of DescribeBudget unless
ShowFilterExpression is asked for. Here the module's functions talk to a real botocore client whose
requests go to botocore's Stubber: every request is validated against the Budgets service model
(shapes, enums, required members), AWS's pairing rule is enforced by an event handler, and the answers
are the ones AWS gives.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.support.in_flight import InFlight
from tests.support.library_code import TaskModule, load_library_module

ACCOUNT = "123456789012"
NAME = "mensetsu-test-monthly"
TAGS = {"Project": "mensetsu", "Environment": "test"}


aws_budget = load_library_module("aws_budget")


def task(**params: Any) -> TaskModule:
    return TaskModule(
        {
            "name": NAME,
            "amount": 90.0,
            "currency": "USD",
            "time_unit": "MONTHLY",
            "cost_filter_tags": TAGS,
            "cost_metric": "UnblendedCost",
            "notifications": None,
            "subscribers": None,
            **params,
        }
    )


def refuse_like_aws(params: dict, **_: Any) -> None:
    """AWS's rule for a budget's filter (CreateBudget/UpdateBudget API reference): FilterExpression and
    Metrics together, or CostFilters and CostTypes, not both nor another combination."""
    budget = params.get("Budget") or params.get("NewBudget") or {}
    new_style = {"FilterExpression", "Metrics"} & set(budget)
    legacy = {"CostFilters", "CostTypes"} & set(budget)
    if (new_style and legacy) or (new_style and new_style != {"FilterExpression", "Metrics"}):
        raise ClientError(
            {"Error": {"Code": "InvalidParameterException", "Message": "FilterExpression requires Metrics"}},
            "CreateBudget" if "Budget" in params else "UpdateBudget",
        )


@pytest.fixture
def budgets():
    client = boto3.client(
        "budgets", region_name="us-east-1", aws_access_key_id="stubbed", aws_secret_access_key="stubbed"
    )
    client.meta.events.register("before-parameter-build.budgets.CreateBudget", refuse_like_aws)
    client.meta.events.register("before-parameter-build.budgets.UpdateBudget", refuse_like_aws)
    with Stubber(client) as stubber:
        # As module.client() hands it to the module: calls take aws_retry=True.
        yield RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1)), stubber
        stubber.assert_no_pending_responses()


EXPRESSION = {
    "And": [
        {"Tags": {"Key": "Environment", "Values": ["test"], "MatchOptions": ["EQUALS"]}},
        {"Tags": {"Key": "Project", "Values": ["mensetsu"], "MatchOptions": ["EQUALS"]}},
    ]
}
# The budget's fixed part, and the whole budget the task asks for (what AWS must receive on create).
BUDGET = {
    "BudgetName": NAME,
    "BudgetType": "COST",
    "TimeUnit": "MONTHLY",
    "BudgetLimit": {"Amount": "90.0", "Unit": "USD"},
}
WANTED = {**BUDGET, "FilterExpression": EXPRESSION, "Metrics": ["UnblendedCost"]}


def test_create_sends_the_filter_with_its_metrics(budgets) -> None:
    client, stubber = budgets
    stubber.add_response(
        "create_budget",
        {},
        {
            "AccountId": ACCOUNT,
            "Budget": WANTED,
            "NotificationsWithSubscribers": [],
        },
    )
    budget = aws_budget.create_budget(task(), client, ACCOUNT, None)
    assert budget["Metrics"] == ["UnblendedCost"]


def test_a_converged_budget_is_read_with_its_filter_and_not_updated(budgets) -> None:
    """AWS answers DescribeBudget with the filter only when ShowFilterExpression is set; with it the
    budget equals the wish and no UpdateBudget is stubbed (an unexpected call would fail the test)."""
    client, stubber = budgets
    described = {
        **WANTED,
        "CalculatedSpend": {"ActualSpend": {"Amount": "3.2", "Unit": "USD"}},
    }
    stubber.add_response(
        "describe_budget",
        {"Budget": described},
        {"AccountId": ACCOUNT, "BudgetName": NAME, "ShowFilterExpression": True},
    )
    module = task()
    current = aws_budget.get_budget(module, client, ACCOUNT)
    assert aws_budget.update_budget(module, client, ACCOUNT, current) is False


def test_an_update_from_legacy_filters_replaces_them(budgets) -> None:
    """A budget made in the console with CostFilters/CostTypes: the update sends FilterExpression and
    Metrics and drops the legacy pair, which AWS would refuse beside them."""
    client, stubber = budgets
    current = {
        **BUDGET,
        "CostFilters": {"TagKeyValue": ["user:Project$mensetsu"]},
        "CostTypes": {"IncludeTax": True},
    }
    stubber.add_response(
        "update_budget",
        {},
        {
            "AccountId": ACCOUNT,
            "NewBudget": WANTED,
        },
    )
    assert aws_budget.update_budget(task(), client, ACCOUNT, current) is True


def test_the_notifications_subscribers_are_read_side_by_side(budgets) -> None:
    """AWS answers DescribeSubscribersForNotification (moto does not): every notification's
    subscribers together, one round trip."""
    client, stubber = budgets
    round_trip = InFlight(0.3)  # before the Stubber answers: 0.3 s per call, as a distant endpoint
    client.client.meta.events.register("before-parameter-build.budgets.DescribeSubscribersForNotification", round_trip)
    notifications = [
        {
            "NotificationType": kind,
            "ComparisonOperator": "GREATER_THAN",
            "Threshold": threshold,
            "ThresholdType": "PERCENTAGE",
        }
        for kind, threshold in (("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0))
    ]
    stubber.add_response("describe_notifications_for_budget", {"Notifications": notifications})
    subscriber = {"SubscriptionType": "EMAIL", "Address": "ops@mensetsu.example.com"}
    for _ in notifications:
        stubber.add_response("describe_subscribers_for_notification", {"Subscribers": [subscriber]})
    started = time.monotonic()
    found = aws_budget.get_notifications(task(), client, ACCOUNT, with_subscribers=True)
    elapsed = time.monotonic() - started
    assert list(found.values()) == [[subscriber]] * 3
    assert round_trip.most == 3, "the notifications' subscribers were not read together"
    assert elapsed < 0.55, elapsed  # one round of 0.3 s, not two or three


def test_an_endpoint_without_the_subscribers_call_is_warned_about_not_failed(budgets) -> None:
    """An emulator that lacks DescribeSubscribersForNotification (moto 5.2.5 alone answers HTTP 500):
    the subscribers stay unknown (None, not compared) and one warning says so."""
    client, stubber = budgets
    notification = {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": 80.0,
        "ThresholdType": "PERCENTAGE",
    }
    stubber.add_response("describe_notifications_for_budget", {"Notifications": [notification]})
    stubber.add_client_error("describe_subscribers_for_notification", "500", "Internal Server Error", 500)
    module = task()
    found = aws_budget.get_notifications(module, client, ACCOUNT, with_subscribers=True)
    assert list(found.values()) == [None]
    assert any("does not implement DescribeSubscribersForNotification" in warning for warning in module.warnings)
