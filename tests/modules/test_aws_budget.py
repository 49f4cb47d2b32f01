"""library/aws_budget.py against the moto server, run as a playbook's task runs it (tests/support/module.py;
the missing amount through a real playbook).

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run (unchanged and not one
mutating request), an amount changed (UpdateBudget), notification and subscriber changes (check mode
first), delete (check mode first). The project's emulator answers UpdateBudget and the subscriber
calls (DescribeSubscribersForNotification, CreateSubscriber, DeleteSubscriber) as AWS does, on
moto's own records (tests/support/moto_aws.py); the module's fallback for an endpoint without
DescribeSubscribersForNotification is fed that endpoint's HTTP 500 with botocore's Stubber
(tests/modules/test_aws_budget_api.py).
"""

from __future__ import annotations

from tests.support import module
from tests.support.playbook import run_playbook
from tests.support.requests import writes

PLAYBOOK = "tests/modules/playbooks/aws_budget.yml"
# One attempt per call: an error here is the test's, not one to retry with back-off for seconds.
ONE_ATTEMPT = {"AWS_MAX_ATTEMPTS": "1"}
NAME = "mensetsu-test-monthly"
ACCOUNT = "123456789012"
TAGS = {"Project": "mensetsu", "Environment": "test"}
NOTIFY = [{"type": "ACTUAL", "threshold": 80}, {"type": "FORECASTED", "threshold": 100}]
SUBSCRIBERS = [
    {"protocol": "email", "address": "ops@mensetsu.example.com"},
    {"protocol": "sns", "address": f"arn:aws:sns:ap-northeast-1:{ACCOUNT}:mensetsu-test-alerts"},
]
BUDGET = {
    "amount": 90,
    "cost_filter_tags": TAGS,
    "notifications": NOTIFY,
    "subscribers": SUBSCRIBERS,
}


def run_module(check: bool = False, **args: object) -> dict:
    """The task's result for the module's options `args` (name: NAME)."""
    return module.run_module("aws_budget", {"name": NAME, **args}, check=check, env=ONE_ATTEMPT)


def budgets(client) -> list[dict]:
    return client.describe_budgets(AccountId=ACCOUNT).get("Budgets") or []


def notifications(client) -> set[tuple]:
    found = client.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=NAME)["Notifications"]
    return {(n["NotificationType"], n["ComparisonOperator"], n["Threshold"], n["ThresholdType"]) for n in found}


def test_budget_lifecycle(aws, boto) -> None:
    client = boto("budgets", "us-east-1")

    planned = run_module(check=True, **BUDGET)
    assert planned["changed"] is True
    assert planned["diff"]["before"] == {}
    assert planned["diff"]["after"]["amount"] == 90.0
    assert planned["diff"]["after"]["cost_filter_tags"] == TAGS
    assert budgets(client) == [], "check mode created a budget"

    created = run_module(**BUDGET)
    assert created["changed"] is True
    (budget,) = budgets(client)
    assert (budget["BudgetName"], budget["BudgetType"], budget["TimeUnit"]) == (NAME, "COST", "MONTHLY")
    assert float(budget["BudgetLimit"]["Amount"]) == 90.0 and budget["BudgetLimit"]["Unit"] == "USD"
    # Both tags must match: an And of two tag filters, not the OR that a CostFilters list would mean.
    assert budget["FilterExpression"] == {
        "And": [
            {"Tags": {"Key": "Environment", "Values": ["test"], "MatchOptions": ["EQUALS"]}},
            {"Tags": {"Key": "Project", "Values": ["mensetsu"], "MatchOptions": ["EQUALS"]}},
        ]
    }
    assert notifications(client) == {
        ("ACTUAL", "GREATER_THAN", 80.0, "PERCENTAGE"),
        ("FORECASTED", "GREATER_THAN", 100.0, "PERCENTAGE"),
    }

    with aws.recording_requests() as requests:
        again = run_module(**BUDGET)
        checked = run_module(check=True, **BUDGET)
        unset = run_module()  # nothing set: nothing touched
    assert again["changed"] is False and checked["changed"] is False and unset["changed"] is False
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert again.get("warnings", []) == [] and again.get("deprecations", []) == []
    assert again["diff"]["before"] == again["diff"]["after"]
    assert {tuple(s.values()) for n in again["diff"]["before"]["notifications"] for s in n["subscribers"]} == {
        tuple(s.values()) for s in SUBSCRIBERS
    }

    # The amount: UpdateBudget, never a delete and create (check mode first).
    with aws.recording_requests() as requests:
        planned_update = run_module(check=True, **(BUDGET | {"amount": 120}))
    assert planned_update["changed"] is True
    assert (planned_update["diff"]["before"]["amount"], planned_update["diff"]["after"]["amount"]) == (90.0, 120.0)
    assert writes(requests) == []
    assert float(budgets(client)[0]["BudgetLimit"]["Amount"]) == 90.0
    with aws.recording_requests() as requests:
        updated = run_module(**(BUDGET | {"amount": 120}))
    assert updated["changed"] is True
    assert [request.action for request in writes(requests)] == ["UpdateBudget"]
    assert float(budgets(client)[0]["BudgetLimit"]["Amount"]) == 120.0
    assert run_module(**(BUDGET | {"amount": 120}))["changed"] is False

    # A subscriber removed out of band is put back; one the task no longer lists is removed.
    notification = {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": 80.0,
        "ThresholdType": "PERCENTAGE",
    }
    client.delete_subscriber(
        AccountId=ACCOUNT,
        BudgetName=NAME,
        Notification=notification,
        Subscriber={"SubscriptionType": "EMAIL", "Address": "ops@mensetsu.example.com"},
    )
    planned_subscribers = run_module(check=True, **(BUDGET | {"amount": 120}))
    assert planned_subscribers["changed"] is True
    with aws.recording_requests() as requests:
        restored = run_module(**(BUDGET | {"amount": 120, "subscribers": SUBSCRIBERS[:1]}))
    assert restored["changed"] is True
    assert sorted(request.action for request in writes(requests)) == ["CreateSubscriber"] + ["DeleteSubscriber"] * 2
    for key in ({"type": "ACTUAL", "threshold": 80}, {"type": "FORECASTED", "threshold": 100}):
        found = client.describe_subscribers_for_notification(
            AccountId=ACCOUNT,
            BudgetName=NAME,
            Notification=dict(notification, NotificationType=key["type"], Threshold=float(key["threshold"])),
        )["Subscribers"]
        assert found == [{"SubscriptionType": "EMAIL", "Address": "ops@mensetsu.example.com"}], (key, found)

    # Notifications: drop the forecast, alert at 50% actual too (check mode first).
    fewer = [{"type": "ACTUAL", "threshold": 80}, {"type": "ACTUAL", "threshold": 50}]
    planned_notes = run_module(check=True, **(BUDGET | {"notifications": fewer}))
    assert planned_notes["changed"] is True
    assert [n["threshold"] for n in planned_notes["diff"]["after"]["notifications"]] == [50.0, 80.0]
    assert len(notifications(client)) == 2 and ("FORECASTED", "GREATER_THAN", 100.0, "PERCENTAGE") in notifications(
        client
    )
    changed_notes = run_module(**(BUDGET | {"notifications": fewer}))
    assert changed_notes["changed"] is True
    assert notifications(client) == {
        ("ACTUAL", "GREATER_THAN", 50.0, "PERCENTAGE"),
        ("ACTUAL", "GREATER_THAN", 80.0, "PERCENTAGE"),
    }
    assert run_module(**(BUDGET | {"notifications": fewer}))["changed"] is False

    planned_delete = run_module(check=True, state="absent")
    assert planned_delete["changed"] is True and planned_delete["diff"]["after"] == {}
    assert len(budgets(client)) == 1, "check mode deleted the budget"
    deleted = run_module(state="absent")
    assert deleted["changed"] is True
    assert budgets(client) == []
    assert run_module(state="absent")["changed"] is False


def test_creating_without_an_amount_fails_clearly(aws) -> None:
    run = run_playbook(PLAYBOOK, extra_vars={"budget_name": NAME})
    assert run.returncode != 0
    assert "amount is required to create a budget" in run.output
