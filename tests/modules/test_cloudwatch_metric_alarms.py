"""library/cloudwatch_metric_alarms.py against the moto server: one read for every alarm, a write only
where an alarm differs, none in check mode, and one result per alarm (with its diff) for the drift
report. The whole role runs it in tests/test_monitoring.py and tests/test_drift.py."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

alarms_module = load_library_module("cloudwatch_metric_alarms")
PREFIX = "mensetsu-test-"
TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:mensetsu-test-alerts"


def spec(name: str, prefix: str = PREFIX, **changes: Any) -> dict[str, Any]:
    """An alarm as the role declares it (every option given, as the module's argument spec fills it)."""
    return {
        "name": f"{prefix}{name}",
        "description": f"{name} above 80",
        "namespace": "AWS/RDS",
        "metric_name": "CPUUtilization",
        "statistic": "Average",
        "comparison": "GreaterThanThreshold",
        "threshold": 80.0,
        "period": 300,
        "evaluation_periods": 2,
        "treat_missing_data": "missing",
        "dimensions": {"DBInstanceIdentifier": name},
        "alarm_actions": [TOPIC],
        "ok_actions": [TOPIC],
        **changes,
    }


@pytest.fixture
def cloudwatch(boto):
    return boto("cloudwatch")


def converge(cloudwatch, check: bool = False, **params: Any) -> dict[str, Any]:
    task = TaskModule({"alarms": [], "read_prefix": None, "absent": [], **params}, check_mode=check)
    client = RetryingBotoClientWrapper(cloudwatch, AWSRetry.jittered_backoff(retries=1))
    return alarms_module.converge(task, client)


def stored(cloudwatch) -> dict[str, dict]:
    return {alarm["AlarmName"]: alarm for alarm in cloudwatch.describe_alarms()["MetricAlarms"]}


def operations(requests) -> list[str]:
    return [request.action for request in requests]


def test_check_mode_plans_every_alarm_and_writes_nothing(aws, cloudwatch) -> None:
    with aws.recording_requests() as requests:
        result = converge(cloudwatch, check=True, alarms=[spec("a"), spec("b")], read_prefix=PREFIX)
    assert result["changed"] is True
    assert [(entry["name"], entry["action"]) for entry in result["results"]] == [
        (f"{PREFIX}a", "created"),
        (f"{PREFIX}b", "created"),
    ]
    assert result["results"][0]["diff"]["after"]["threshold"] == 80.0
    assert writes(requests) == [] and operations(requests) == ["DescribeAlarms"]
    assert stored(cloudwatch) == {}


def test_a_converged_set_is_one_read_and_a_changed_alarm_is_the_only_write(aws, cloudwatch) -> None:
    declared = [spec("a"), spec("b"), spec("c")]
    first = converge(cloudwatch, alarms=declared, read_prefix=PREFIX)
    assert [entry["action"] for entry in first["results"]] == ["created"] * 3
    alarm = stored(cloudwatch)[f"{PREFIX}b"]
    assert alarm["Threshold"] == 80.0 and alarm["Dimensions"] == [{"Name": "DBInstanceIdentifier", "Value": "b"}]
    assert alarm["AlarmActions"] == [TOPIC] and alarm["OKActions"] == [TOPIC]

    with aws.recording_requests() as requests:
        again = converge(cloudwatch, alarms=declared, read_prefix=PREFIX)
    assert again["changed"] is False and operations(requests) == ["DescribeAlarms"]
    assert {entry["action"] for entry in again["results"]} == {"unchanged"}
    assert again["found"] == sorted(entry["name"] for entry in declared)

    # Changed by hand, as test_drift.py does: the threshold ten times higher.
    kept = ("AlarmName", "AlarmDescription", "OKActions", "AlarmActions", "MetricName", "Namespace", "Statistic")
    kept += ("Dimensions", "Period", "EvaluationPeriods", "ComparisonOperator", "TreatMissingData")
    cloudwatch.put_metric_alarm(**{key: alarm[key] for key in kept if key in alarm}, Threshold=800.0)
    with aws.recording_requests() as requests:
        planned = converge(cloudwatch, check=True, alarms=declared, read_prefix=PREFIX)
    assert writes(requests) == []
    changed = [entry for entry in planned["results"] if entry["changed"]]
    assert [entry["name"] for entry in changed] == [f"{PREFIX}b"]
    assert changed[0]["action"] == "updated" and changed[0]["alarm_arn"] == alarm["AlarmArn"]
    assert changed[0]["diff"] == {"before": {"threshold": 800.0}, "after": {"threshold": 80.0}}

    with aws.recording_requests() as requests:
        fixed = converge(cloudwatch, alarms=declared, read_prefix=PREFIX)
    assert fixed["changed"] is True
    assert operations(requests) == ["DescribeAlarms", "PutMetricAlarm"]
    assert stored(cloudwatch)[f"{PREFIX}b"]["Threshold"] == 80.0
    assert converge(cloudwatch, alarms=declared, read_prefix=PREFIX)["changed"] is False


def test_the_prefix_read_lists_alarms_no_longer_declared_and_absent_deletes_them(aws, cloudwatch) -> None:
    converge(cloudwatch, alarms=[spec("a"), spec("gone")])
    result = converge(cloudwatch, alarms=[spec("a")], read_prefix=PREFIX)
    assert result["changed"] is False and result["found"] == [f"{PREFIX}a", f"{PREFIX}gone"]

    with aws.recording_requests() as requests:
        planned = converge(cloudwatch, check=True, absent=[f"{PREFIX}gone", f"{PREFIX}never"])
    assert writes(requests) == [] and f"{PREFIX}gone" in stored(cloudwatch)
    assert [(entry["name"], entry["changed"]) for entry in planned["results"]] == [
        (f"{PREFIX}gone", True),
        (f"{PREFIX}never", False),
    ]
    assert planned["results"][0]["diff"]["after"] == {}

    with aws.recording_requests() as requests:
        deleted = converge(cloudwatch, absent=[f"{PREFIX}gone", f"{PREFIX}never"])
    assert deleted["changed"] is True and operations(requests) == ["DescribeAlarms", "DeleteAlarms"]
    assert set(stored(cloudwatch)) == {f"{PREFIX}a"}
    assert converge(cloudwatch, absent=[f"{PREFIX}gone"])["changed"] is False


def test_names_outside_the_prefix_are_read_by_name_at_most_a_hundred_per_request(aws, cloudwatch) -> None:
    declared = [spec(f"{number:03}", prefix="other-") for number in range(101)]
    with aws.recording_requests() as requests:
        result = converge(cloudwatch, check=True, alarms=declared)
    assert operations(requests) == ["DescribeAlarms", "DescribeAlarms"]
    assert len(result["results"]) == 101 and all(entry["action"] == "created" for entry in result["results"])


def test_an_alarm_named_twice_stops_before_any_request(aws, cloudwatch) -> None:
    with aws.recording_requests() as requests, pytest.raises(ModuleFailed, match="mensetsu-test-a"):
        converge(cloudwatch, alarms=[spec("a")], absent=[f"{PREFIX}a"])
    assert requests == []
