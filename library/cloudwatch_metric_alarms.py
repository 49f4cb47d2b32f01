#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatch_metric_alarms
short_description: Put many CloudWatch metric alarms, or delete some, reading them all at once
version_added: 1.0.0
description:
  - Reads every alarm it is given with one C(DescribeAlarms) (up to 100 names per request; or
    every alarm under O(read_prefix), paginated), compares each with its declaration and sends
    C(PutMetricAlarm) only for those that are missing or differ, and C(DeleteAlarms) only for the
    names in O(absent) that exist.
  - It exists because M(amazon.aws.cloudwatch_metric_alarm) takes one alarm per call and reads it
    twice (before and after), so a loop over N alarms is N module runs and 2N requests even when
    nothing changes.
  - The comparison that decides C(changed) is the one the write path uses (the request it would
    send against the request the alarm's current settings make).
  - Check mode sends no write. Returns one entry per alarm in RV(results), with its own
    C(changed) and C(diff) (before = actual, after = declared).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  alarms:
    description:
      - The alarms that must exist with these settings. An alarm's other settings (unit, extended
        statistic, datapoints to alarm, insufficient-data actions) must be unset, and its actions
        enabled.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: The alarm's name., type: str, required: true}
      description: {description: The alarm's description., type: str, default: ""}
      namespace: {description: The metric's namespace., type: str, required: true}
      metric_name: {description: The metric's name., type: str, required: true}
      statistic:
        description: The statistic.
        type: str
        required: true
        choices: [SampleCount, Average, Sum, Minimum, Maximum]
      comparison:
        description: The comparison operator.
        type: str
        required: true
        choices: [GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold]
      threshold: {description: The threshold., type: float, required: true}
      period: {description: The period in seconds., type: int, required: true}
      evaluation_periods: {description: The number of periods compared., type: int, required: true}
      treat_missing_data:
        description: How missing data is treated.
        type: str
        default: missing
        choices: [breaching, notBreaching, ignore, missing]
      dimensions: {description: The metric's dimensions (name to value)., type: dict, default: {}}
      alarm_actions: {description: The ARNs notified on ALARM., type: list, elements: str, default: []}
      ok_actions: {description: The ARNs notified on OK., type: list, elements: str, default: []}
  read_prefix:
    description:
      - Read every metric alarm whose name starts with this prefix (one paginated C(DescribeAlarms))
        instead of the O(alarms) by name; RV(found) then lists them all, so the caller can tell
        which are no longer wanted. Alarms of O(alarms) outside the prefix are read by name.
    type: str
  absent:
    description: Names of alarms that must not exist (those that do are deleted).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Put the alarms, reading every alarm of the environment once
  cloudwatch_metric_alarms:
    read_prefix: mensetsu-dev-
    alarms:
      - name: mensetsu-dev-rds-cpu
        description: Database CPU above 80 %
        namespace: AWS/RDS
        metric_name: CPUUtilization
        statistic: Average
        comparison: GreaterThanThreshold
        threshold: 80
        period: 300
        evaluation_periods: 2
        dimensions: {DBInstanceIdentifier: mensetsu-dev}
        alarm_actions: [arn:aws:sns:ap-northeast-1:123456789012:mensetsu-dev-alerts]
        ok_actions: [arn:aws:sns:ap-northeast-1:123456789012:mensetsu-dev-alerts]
  register: alarms

- name: Delete the alarms of resources that are gone
  cloudwatch_metric_alarms:
    absent: [mensetsu-dev-ec2-cpu-i-0123456789abcdef0]
"""

RETURN = r"""
results:
  description: One entry per alarm of O(alarms) and O(absent), in that order.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The alarm's name., type: str}
    alarm_arn: {description: The alarm's ARN (absent for one not created yet)., type: str}
    action: {description: "V(created), V(updated), V(deleted) or V(unchanged).", type: str}
    changed: {description: "Whether the alarm was (or, in check mode, would be) written.", type: bool}
    diff:
      description: The settings that differ, before (actual) and after (declared).
      type: dict
  sample:
    - {name: mensetsu-dev-rds-cpu, action: updated, changed: true,
       alarm_arn: "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:mensetsu-dev-rds-cpu",
       diff: {before: {threshold: 90.0}, after: {threshold: 80.0}}}
found:
  description: The names of the metric alarms read (all those under O(read_prefix) when given).
  returned: always
  type: list
  elements: str
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

NAMES_PER_REQUEST = 100  # DescribeAlarms' AlarmNames limit
# option -> PutMetricAlarm / DescribeAlarms key
KEYS = {
    "description": "AlarmDescription",
    "namespace": "Namespace",
    "metric_name": "MetricName",
    "statistic": "Statistic",
    "comparison": "ComparisonOperator",
    "threshold": "Threshold",
    "period": "Period",
    "evaluation_periods": "EvaluationPeriods",
    "treat_missing_data": "TreatMissingData",
    "dimensions": "Dimensions",
    "alarm_actions": "AlarmActions",
    "ok_actions": "OKActions",
    # Not options: what every alarm of this module has (so a hand-made change shows).
    "actions_enabled": "ActionsEnabled",
    "insufficient_data_actions": "InsufficientDataActions",
    "unit": "Unit",
    "extended_statistic": "ExtendedStatistic",
    "datapoints_to_alarm": "DatapointsToAlarm",
}
FIXED = {
    "actions_enabled": True,
    "insufficient_data_actions": [],
    "unit": None,
    "extended_statistic": None,
    "datapoints_to_alarm": None,
}


def declared_settings(spec: dict[str, Any]) -> dict[str, Any]:
    """An alarm of the task as the comparable settings (option names)."""
    settings = {option: spec.get(option) for option in KEYS if option not in FIXED}
    settings["description"] = settings["description"] or ""
    settings["threshold"] = float(settings["threshold"])
    settings["period"] = int(settings["period"])
    settings["evaluation_periods"] = int(settings["evaluation_periods"])
    settings["treat_missing_data"] = settings["treat_missing_data"] or "missing"
    settings["dimensions"] = {str(key): str(value) for key, value in (settings["dimensions"] or {}).items()}
    settings["alarm_actions"] = list(settings["alarm_actions"] or [])
    settings["ok_actions"] = list(settings["ok_actions"] or [])
    return {**settings, **FIXED}


def actual_settings(alarm: dict[str, Any]) -> dict[str, Any]:
    """A DescribeAlarms MetricAlarm as the same settings."""
    settings = {option: alarm.get(key) for option, key in KEYS.items()}
    settings["description"] = settings["description"] or ""
    settings["threshold"] = float(settings["threshold"]) if settings["threshold"] is not None else None
    # Alarms made before TreatMissingData existed have none: AWS treats that as "missing".
    settings["treat_missing_data"] = settings["treat_missing_data"] or "missing"
    settings["dimensions"] = {item["Name"]: item["Value"] for item in settings["dimensions"] or []}
    for option in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
        settings[option] = list(settings[option] or [])
    settings["actions_enabled"] = alarm.get("ActionsEnabled", True)
    return settings


def differences(declared: dict[str, Any], actual: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The diff that decides a write: {} when the alarm is as declared; else before/after of the
    settings that differ (all declared settings for a missing alarm). Actions compare as sets."""
    if actual is None:
        return {"before": {}, "after": {key: value for key, value in declared.items() if key not in FIXED}}
    differ = [
        key
        for key, value in declared.items()
        if (sorted(value) if isinstance(value, list) else value)
        != (sorted(actual.get(key) or []) if isinstance(value, list) else actual.get(key))
    ]
    if not differ:
        return {}
    return {"before": {key: actual.get(key) for key in differ}, "after": {key: declared[key] for key in differ}}


def put_request(name: str, declared: dict[str, Any]) -> dict[str, Any]:
    """PutMetricAlarm's request for the declared settings (the whole alarm: Put replaces it)."""
    request: dict[str, Any] = {"AlarmName": name}
    for option, key in KEYS.items():
        value = declared[option]
        if option == "dimensions":
            value = [{"Name": dimension, "Value": text} for dimension, text in sorted(value.items())]
        if value is not None and value != []:
            request[key] = value
    return request


def read_alarms(module: Any, client: Any, names: list[str], prefix: str | None) -> dict[str, dict[str, Any]]:
    """The metric alarms by name: all under the prefix, and the named ones outside it."""
    found: dict[str, dict[str, Any]] = {}
    requests: list[dict[str, Any]] = []
    if prefix:
        requests.append({"AlarmNamePrefix": prefix})
    outside = [name for name in dict.fromkeys(names) if not (prefix and name.startswith(prefix))]
    requests += [
        {"AlarmNames": outside[start : start + NAMES_PER_REQUEST]}
        for start in range(0, len(outside), NAMES_PER_REQUEST)
    ]
    for request in requests:
        token = None
        while True:
            page = {**request, "AlarmTypes": ["MetricAlarm"], **({"NextToken": token} if token else {})}
            try:
                answer = client.describe_alarms(aws_retry=True, **page)
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg="Failed to read the CloudWatch alarms")
            found.update({alarm["AlarmName"]: alarm for alarm in answer.get("MetricAlarms", [])})
            token = answer.get("NextToken")
            if not token:
                break
    return found


def converge(module: Any, client: Any) -> dict[str, Any]:
    """Read once, then write only what differs; the module's result."""
    specs, absent = module.params["alarms"] or [], module.params["absent"] or []
    names = [spec["name"] for spec in specs]
    duplicated = sorted({name for name in names if names.count(name) > 1} | (set(names) & set(absent)))
    if duplicated:
        module.fail_json(msg=f"alarms named more than once (or also absent): {', '.join(duplicated)}")
    existing = read_alarms(module, client, names + list(absent), module.params["read_prefix"])
    results = []
    for spec in specs:
        name, alarm = spec["name"], existing.get(spec["name"])
        declared = declared_settings(spec)
        diff = differences(declared, actual_settings(alarm) if alarm else None)
        entry: dict[str, Any] = {"name": name, "changed": bool(diff)}
        entry["action"] = "unchanged" if not diff else "updated" if alarm else "created"
        if alarm:
            entry["alarm_arn"] = alarm.get("AlarmArn")
        if diff:
            entry["diff"] = diff
            if not module.check_mode:
                try:
                    client.put_metric_alarm(aws_retry=True, **put_request(name, declared))
                except AWS_ERRORS as e:
                    module.fail_json_aws(e, msg=f"Failed to put the alarm {name}")
        results.append(entry)
    gone = [name for name in dict.fromkeys(absent) if name in existing]
    for start in range(0, len(gone), NAMES_PER_REQUEST) if not module.check_mode else ():
        try:
            client.delete_alarms(aws_retry=True, AlarmNames=gone[start : start + NAMES_PER_REQUEST])
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg="Failed to delete the alarms")
    for name in dict.fromkeys(absent):
        alarm = existing.get(name)
        entry = {"name": name, "changed": alarm is not None, "action": "deleted" if alarm else "unchanged"}
        if alarm:
            entry["alarm_arn"] = alarm.get("AlarmArn")
            before = {key: value for key, value in actual_settings(alarm).items() if key not in FIXED}
            entry["diff"] = {"before": before, "after": {}}
        results.append(entry)
    changed = [entry for entry in results if entry["changed"]]
    return {
        "changed": bool(changed),
        "results": results,
        "found": sorted(existing),
        "diff": {
            "before": {entry["name"]: entry["diff"]["before"] for entry in changed},
            "after": {entry["name"]: entry["diff"]["after"] for entry in changed},
        },
    }


def main() -> None:
    alarm_options = dict(
        name=dict(type="str", required=True),
        description=dict(type="str", default=""),
        namespace=dict(type="str", required=True),
        metric_name=dict(type="str", required=True),
        statistic=dict(type="str", required=True, choices=["SampleCount", "Average", "Sum", "Minimum", "Maximum"]),
        comparison=dict(
            type="str",
            required=True,
            choices=[
                "GreaterThanOrEqualToThreshold",
                "GreaterThanThreshold",
                "LessThanThreshold",
                "LessThanOrEqualToThreshold",
            ],
        ),
        threshold=dict(type="float", required=True),
        period=dict(type="int", required=True),
        evaluation_periods=dict(type="int", required=True),
        treat_missing_data=dict(
            type="str", default="missing", choices=["breaching", "notBreaching", "ignore", "missing"]
        ),
        dimensions=dict(type="dict", default={}),
        alarm_actions=dict(type="list", elements="str", default=[]),
        ok_actions=dict(type="list", elements="str", default=[]),
    )
    argument_spec = dict(
        alarms=dict(type="list", elements="dict", default=[], options=alarm_options),
        read_prefix=dict(type="str"),
        absent=dict(type="list", elements="str", default=[]),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff())
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
