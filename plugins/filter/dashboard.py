"""The operations dashboard's body (roles/aws_monitoring/tasks/dashboard.yml, library/cloudwatch_dashboard.py).

Filter:
  targets | aws_monitoring_dashboard_body(region, web_acl)   the CloudWatch dashboard body (a dict)

`targets` is what the role found by the platform's names: {alb: "app/<name>/<id>", target_group:
"targetgroup/<name>/<id>", instances: [{id}], db: "<identifier>", cache_nodes: [{cluster, node}]}
('' or [] when not found yet), the shape the role's alarms use. A resource not found yet gets no
widget: the next run adds it. `web_acl` is the CloudFront web ACL's name ('' when WAF is off):
WAF publishes a CloudFront ACL's metrics in us-east-1 with the dimensions WebACL and Rule (ALL:
the whole ACL).

Pure computation: the same targets give the same body, key for key, so a re-run is no change.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

WIDTH, HEIGHT, COLUMNS = 12, 6, 2
PERIOD = 300


def _widget(title: str, region: str, metrics: list[list[Any]], stat: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": region,
            "metrics": metrics,
            "stat": stat,
            "period": PERIOD,
            "view": "timeSeries",
            **properties,
        },
    }


def _alb_widgets(region: str, alb: str, target_group: str) -> list[dict[str, Any]]:
    if not alb:
        return []
    lb = ["LoadBalancer", alb]
    widgets = [
        _widget("ALB requests", region, [["AWS/ApplicationELB", "RequestCount", *lb]], "Sum"),
        _widget(
            "ALB 5xx answers",
            region,
            [
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *lb, {"label": "from the API"}],
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", *lb, {"label": "from the load balancer"}],
            ],
            "Sum",
        ),
        _widget(
            "ALB target response time (s)",
            region,
            [
                ["AWS/ApplicationELB", "TargetResponseTime", *lb, {"stat": "Average", "label": "average"}],
                ["AWS/ApplicationELB", "TargetResponseTime", *lb, {"stat": "p99", "label": "p99"}],
            ],
            "Average",
        ),
    ]
    if target_group:
        tg = ["TargetGroup", target_group, *lb]
        widgets.append(
            _widget(
                "Target health (hosts)",
                region,
                [
                    ["AWS/ApplicationELB", "HealthyHostCount", *tg, {"label": "healthy"}],
                    ["AWS/ApplicationELB", "UnHealthyHostCount", *tg, {"label": "unhealthy"}],
                ],
                "Maximum",
            )
        )
    return widgets


def _ec2_widgets(region: str, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = sorted(str(instance["id"]) for instance in instances)
    if not ids:
        return []
    return [
        _widget(
            "EC2 CPU (%) per app host", region, [["AWS/EC2", "CPUUtilization", "InstanceId", i] for i in ids], "Average"
        ),
        _widget(
            "EC2 status checks failed per app host",
            region,
            [["AWS/EC2", "StatusCheckFailed", "InstanceId", i] for i in ids],
            "Maximum",
        ),
    ]


def _rds_widgets(region: str, db: str) -> list[dict[str, Any]]:
    if not db:
        return []
    dim = ["DBInstanceIdentifier", db]
    return [
        _widget("RDS CPU (%)", region, [["AWS/RDS", "CPUUtilization", *dim]], "Average"),
        _widget("RDS connections", region, [["AWS/RDS", "DatabaseConnections", *dim]], "Maximum"),
        _widget("RDS free storage (bytes)", region, [["AWS/RDS", "FreeStorageSpace", *dim]], "Minimum"),
    ]


def _cache_widgets(region: str, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    clusters = sorted({str(node["cluster"]) for node in nodes})
    if not clusters:
        return []
    cpu = [
        ["AWS/ElastiCache", metric, "CacheClusterId", cluster, {"label": f"{cluster} {label}"}]
        for cluster in clusters
        for metric, label in (("CPUUtilization", "host CPU"), ("EngineCPUUtilization", "Redis thread CPU"))
    ]
    memory = [["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", c] for c in clusters]
    return [
        _widget("Redis CPU (%)", region, cpu, "Average"),
        _widget("Redis memory used (%)", region, memory, "Maximum"),
    ]


def _waf_widgets(web_acl: str) -> list[dict[str, Any]]:
    if not web_acl:
        return []
    metric = ["AWS/WAFV2", "BlockedRequests", "WebACL", web_acl, "Rule", "ALL"]
    # A CloudFront web ACL's metrics live in us-east-1, whatever the stack's region.
    return [_widget("WAF blocked requests (CloudFront)", "us-east-1", [metric], "Sum")]


def aws_monitoring_dashboard_body(targets: dict[str, Any], region: str, web_acl: str = "") -> dict[str, Any]:
    if not isinstance(targets, dict):
        raise AnsibleFilterError("aws_monitoring_dashboard_body: targets must be a dict")
    widgets = (
        _alb_widgets(region, str(targets.get("alb") or ""), str(targets.get("target_group") or ""))
        + _ec2_widgets(region, list(targets.get("instances") or []))
        + _rds_widgets(region, str(targets.get("db") or ""))
        + _cache_widgets(region, list(targets.get("cache_nodes") or []))
        + _waf_widgets(web_acl)
    )
    for index, widget in enumerate(widgets):
        widget.update(x=(index % COLUMNS) * WIDTH, y=(index // COLUMNS) * HEIGHT, width=WIDTH, height=HEIGHT)
    return {"widgets": widgets}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"aws_monitoring_dashboard_body": aws_monitoring_dashboard_body}
