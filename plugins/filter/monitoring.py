"""Turn the alarm catalogue (vars/main.yml) and the resources found into cloudwatch_metric_alarm arguments.

Filters:
  alarms | aws_monitoring_alarm_specs(thresholds, targets, prefix, topic_arn)   one dict per alarm
  alarms | aws_monitoring_missing(targets)                                      what could not be watched
  names | aws_monitoring_stale(specs, alarms, prefix)                           this role's alarms no longer wanted

`targets` is what the role found: {"alb": "app/<name>/<id>" or "", "target_group": "targetgroup/<name>/<id>"
or "", "instances": [{"id", "name"}], "db": "<identifier>" or "", "cache_nodes": [{"cluster", "node"}]}.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

SCOPE_NAMES = {
    "alb": "the load balancer",
    "target_group": "the API target group",
    "instance": "the app instances",
    "db": "the database",
    "cache_node": "the Redis nodes",
}


def _resources(scope: str, targets: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(suffix of the alarm's name, CloudWatch dimensions) for every resource of a scope."""
    if scope == "alb":
        return [("", {"LoadBalancer": targets["alb"]})] if targets.get("alb") else []
    if scope == "target_group":
        if targets.get("alb") and targets.get("target_group"):
            return [("", {"LoadBalancer": targets["alb"], "TargetGroup": targets["target_group"]})]
        return []
    if scope == "instance":
        return [(instance["id"], {"InstanceId": instance["id"]}) for instance in targets.get("instances") or []]
    if scope == "db":
        return [("", {"DBInstanceIdentifier": targets["db"]})] if targets.get("db") else []
    if scope == "cache_node":
        return [
            (node["cluster"], {"CacheClusterId": node["cluster"], "CacheNodeId": node["node"]})
            for node in targets.get("cache_nodes") or []
        ]
    raise AnsibleFilterError(f"aws_monitoring: unknown alarm scope {scope!r}")


def _number(value: float) -> str:
    return f"{value:g}"


def aws_monitoring_alarm_specs(
    alarms: list[dict[str, Any]], thresholds: dict[str, Any], targets: dict[str, Any], prefix: str, topic_arn: str
) -> list[dict[str, Any]]:
    specs = []
    for alarm in alarms:
        if alarm["threshold"] not in thresholds:
            raise AnsibleFilterError(f"aws_monitoring: no threshold {alarm['threshold']!r} for alarm {alarm['key']}")
        threshold = float(thresholds[alarm["threshold"]])
        for suffix, dimensions in _resources(alarm["scope"], targets):
            target = suffix or next(iter(dimensions.values()))
            specs.append(
                {
                    "name": "-".join(part for part in (prefix, alarm["key"], suffix) if part),
                    "description": alarm["description"].format(threshold=_number(threshold), target=target),
                    "namespace": alarm["namespace"],
                    "metric_name": alarm["metric"],
                    "statistic": alarm["statistic"],
                    "comparison": alarm["comparison"],
                    "threshold": threshold * float(alarm.get("scale", 1)),
                    "period": int(alarm["period"]),
                    "evaluation_periods": int(alarm["evaluation_periods"]),
                    "treat_missing_data": alarm["treat_missing_data"],
                    "dimensions": dimensions,
                    "alarm_actions": [topic_arn],
                    "ok_actions": [topic_arn],
                }
            )
    return specs


def aws_monitoring_missing(alarms: list[dict[str, Any]], targets: dict[str, Any]) -> list[str]:
    scopes = dict.fromkeys(alarm["scope"] for alarm in alarms)
    return [SCOPE_NAMES[scope] for scope in scopes if not _resources(scope, targets)]


def aws_monitoring_stale(
    existing: list[str], specs: list[dict[str, Any]], alarms: list[dict[str, Any]], prefix: str
) -> list[str]:
    """Existing alarms named like this role's (<prefix>-<key>...) that no spec asks for."""
    wanted = {spec["name"] for spec in specs}
    ours = tuple(f"{prefix}-{alarm['key']}" for alarm in alarms)
    return sorted(
        name
        for name in existing
        if name not in wanted and any(name == own or name.startswith(own + "-") for own in ours)
    )


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "aws_monitoring_alarm_specs": aws_monitoring_alarm_specs,
            "aws_monitoring_missing": aws_monitoring_missing,
            "aws_monitoring_stale": aws_monitoring_stale,
        }
