"""library/aws_budget.py against the moto server, run as a playbook's task runs it (tests/support/module.py;
the missing amount through a real playbook).

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run (unchanged and not one
mutating request), notification changes (check mode first), delete (check mode first).
What moto 5.2.5 cannot do, and so what is not run here: UpdateBudget (a changed amount or filter on
an existing budget: only its check-mode plan is tested) and the subscriber calls
(DescribeSubscribersForNotification, CreateSubscriber, DeleteSubscriber): the module warns that it
could not compare subscribers.
"""

from __future__ import annotations

from tests.support import module
from tests.support.playbook import run_playbook
from tests.support.requests import writes

PLAYBOOK = "tests/modules/playbooks/aws_budget.yml"
# One attempt per call: moto answers the calls it lacks with HTTP 500, which botocore would otherwise
# retry with back-off for seconds.
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
    assert any("DescribeSubscribersForNotification" in warning for warning in again.get("warnings", []))
    # The warning alone: not also ansible-core 2.19's deprecation of `warnings=` in exit_json, which
    # amazon.aws 10.1.2's AnsibleAWSModule.warn brings with it.
    assert again.get("deprecations", []) == [], again["deprecations"]
    assert again["diff"]["before"] == again["diff"]["after"]

    # An update of the amount goes through UpdateBudget, which moto lacks: its plan is checked here.
    with aws.recording_requests() as requests:
        planned_update = run_module(check=True, **(BUDGET | {"amount": 120}))
    assert planned_update["changed"] is True
    assert (planned_update["diff"]["before"]["amount"], planned_update["diff"]["after"]["amount"]) == (90.0, 120.0)
    assert writes(requests) == []
    assert float(budgets(client)[0]["BudgetLimit"]["Amount"]) == 90.0

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
