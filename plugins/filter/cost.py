"""Monthly cost estimate of an environment from its settings and a price file (data/prices.yml).

Filters:
  region | cost_estimate(prices, settings, assumptions, budget)  one region's estimate, by service
  estimates | cost_report(budget_total)                          the table and the verdict as text lines

Pure computation: nothing here reaches AWS. The figures are on-demand list prices; free tiers,
taxes and discounts are not counted (the report says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible.errors import AnsibleFilterError

# The seed's table 4.5 rows, in its order, then what the seed leaves out, then the hardening
# features of issue 19 (docs/security.md), each on its own row.
SEED_SERVICES = ["ec2", "rds", "s3", "cloudfront", "alb", "elasticache"]
HARDENING_SERVICES = ["waf", "logs", "flow_logs", "dashboard", "insights", "cloudtrail"]
OTHER_SERVICES = ["secrets", "route53", "cloudwatch", "egress", *HARDENING_SERVICES]
LABELS = {
    "ec2": "EC2",
    "rds": "RDS",
    "s3": "S3",
    "cloudfront": "CloudFront",
    "alb": "ALB",
    "elasticache": "ElastiCache",
    "secrets": "Secrets Manager",
    "route53": "Route 53",
    "cloudwatch": "CloudWatch alarms",
    "egress": "Data transfer out",
    "waf": "WAF",
    "logs": "Logs (CW Logs, S3)",
    "flow_logs": "VPC flow logs",
    "dashboard": "Dashboard",
    "insights": "Perf. Insights",
    "cloudtrail": "CloudTrail",
}
# The rules of each web ACL (roles/aws_edge): the AWS managed groups for common attacks, known bad
# inputs and IP reputation, and the rate-based rule. WAF bills each rule or rule group.
WAF_RULES_PER_ACL = 4
# CloudWatch's always-free tier: 3 dashboards per account.
FREE_DASHBOARDS = 3

REQUIRED_SETTINGS = (
    "app_instance_type",
    "app_instance_count",
    "app_root_volume_gb",
    "db_instance_class",
    "db_allocated_storage_gb",
    "db_multi_az",
    "cache_node_type",
    "cache_node_count",
    "secret_count",
    "hosted_zone_count",
    "alarm_count",
)
# The hardening features' settings (docs/security.md; their names as the roles declare them).
FEATURE_SETTINGS = (
    "waf_enabled",
    "waf_alb_enabled",
    "waf_log_retention_days",
    "vpc_flow_logs_enabled",
    "vpc_flow_logs_retention_days",
    "cloudtrail_enabled",
    "log_bucket_expire_days",
    "db_log_exports",
    "db_log_retention_days",
    "db_performance_insights",
    "dashboard_enabled",
    "session_logs_enabled",
    "ssm_session_log_retention_days",
)
REQUIRED_ASSUMPTIONS = (
    "alb_lcu",
    "s3_storage_gb",
    "s3_put_requests",
    "s3_get_requests",
    "cloudfront_gb_out",
    "cloudfront_requests",
    "api_gb_out",
    "secrets_api_calls",
)
# What the hardening features' usage is (cost_default_assumptions in playbooks/cost.yml).
FEATURE_ASSUMPTIONS = (
    "api_requests",
    "waf_logs_gb",
    "flow_logs_gb",
    "db_logs_gb",
    "session_logs_gb",
    "log_bucket_gb",
    "account_other_dashboards",
    "cloudtrail_first_trail",
    "cloudtrail_management_events",
)


@dataclass
class Line:
    """One priced quantity: 730 h of t3.medium, 30 GB-month of gp3, ..."""

    item: str
    quantity: float
    unit: str
    unit_usd: float
    source: str = ""

    @property
    def usd(self) -> float:
        return self.quantity * self.unit_usd

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "quantity": round(self.quantity, 4),
            "unit": self.unit,
            "unit_usd": self.unit_usd,
            "usd": round(self.usd, 2),
            "source": self.source,
        }


@dataclass
class PriceBook:
    """The rows of data/prices.yml for one region, looked up by item and key."""

    region: str
    rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    hours: float = 730.0

    @classmethod
    def load(cls, prices: dict[str, Any], region: str) -> PriceBook:
        rows = {(row["item"], str(row["key"])): row for row in prices.get("prices", []) if row["region"] == region}
        if not rows:
            known = sorted({row["region"] for row in prices.get("prices", [])})
            raise AnsibleFilterError(
                f"data/prices.yml has no prices for region {region!r} (it has: {', '.join(known)})"
            )
        return cls(region=region, rows=rows, hours=float(prices.get("prices_hours_per_month", 730)))

    def price(self, item: str, key: str | None = None) -> tuple[float, str, str]:
        """The row's price, unit and source (a key of prices_sources)."""
        if key is None:
            matches = [row for (name, _key), row in self.rows.items() if name == item]
            row = matches[0] if len(matches) == 1 else None
        else:
            row = self.rows.get((item, key))
        if row is None:
            wanted = f"{item} {key}" if key else item
            raise AnsibleFilterError(
                f"data/prices.yml has no price for {wanted} in {self.region}: add the row (with its source and date)"
            )
        return float(row["usd"]), str(row["unit"]), str(row.get("source", ""))

    def line(self, label: str, quantity: float, item: str, key: str | None = None, per: float = 1.0) -> Line:
        usd, unit, source = self.price(item, key)
        return Line(item=label, quantity=quantity / per, unit=unit, unit_usd=usd, source=source)


def _missing(values: dict[str, Any], names: tuple[str, ...], what: str) -> None:
    missing = [name for name in names if name not in values]
    if missing:
        raise AnsibleFilterError(f"cost_estimate: {what} lack {', '.join(missing)}")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def service_lines(book: PriceBook, settings: dict[str, Any], assumptions: dict[str, Any]) -> dict[str, list[Line]]:
    """Every priced quantity of the environment, grouped by service."""
    hours = book.hours
    count = int(settings["app_instance_count"])
    itype = str(settings["app_instance_type"])
    db_copies = 2 if _truthy(settings["db_multi_az"]) else 1
    db_class = str(settings["db_instance_class"])
    cache_type = str(settings["cache_node_type"])
    cache_nodes = int(settings["cache_node_count"])
    return {
        "ec2": [
            book.line(f"{count} x {itype} instance", count * hours, "ec2.instance", itype),
            book.line(
                f"{count} x gp3 root volume", count * float(settings["app_root_volume_gb"]), "ec2.ebs_gp3", "gp3"
            ),
            book.line(f"{count} x public IPv4 address", count * hours, "ec2.public_ipv4", "in-use"),
        ],
        "rds": [
            book.line(
                f"{db_class} PostgreSQL x {db_copies} (Multi-AZ doubles)", db_copies * hours, "rds.instance", db_class
            ),
            book.line(
                f"gp3 storage x {db_copies}",
                db_copies * float(settings["db_allocated_storage_gb"]),
                "rds.storage_gp3",
                "gp3",
            ),
        ],
        "s3": [
            book.line("Standard storage", float(assumptions["s3_storage_gb"]), "s3.storage_standard"),
            book.line("PUT/POST/LIST requests", float(assumptions["s3_put_requests"]), "s3.put_requests", per=1000),
            book.line("GET requests", float(assumptions["s3_get_requests"]), "s3.get_requests", per=1000),
        ],
        "cloudfront": [
            book.line("data out to viewers", float(assumptions["cloudfront_gb_out"]), "cloudfront.data_out"),
            book.line("HTTPS requests", float(assumptions["cloudfront_requests"]), "cloudfront.requests", per=10000),
        ],
        "alb": [
            book.line("load balancer hours", hours, "alb.hour"),
            book.line(f"{assumptions['alb_lcu']} LCU average", float(assumptions["alb_lcu"]) * hours, "alb.lcu"),
            book.line("2 public IPv4 addresses (one per AZ)", 2 * hours, "ec2.public_ipv4", "in-use"),
        ],
        "elasticache": [
            book.line(f"{cache_nodes} x {cache_type} node", cache_nodes * hours, "elasticache.node", cache_type),
        ],
        "secrets": [
            book.line(f"{settings['secret_count']} secrets", float(settings["secret_count"]), "secrets.secret"),
            book.line("API calls", float(assumptions["secrets_api_calls"]), "secrets.api_calls", per=10000),
        ],
        "route53": [
            book.line(
                f"{settings['hosted_zone_count']} hosted zone",
                float(settings["hosted_zone_count"]),
                "route53.hosted_zone",
            ),
        ],
        "cloudwatch": [
            book.line(f"{settings['alarm_count']} standard alarms", float(settings["alarm_count"]), "cloudwatch.alarm"),
        ],
        "egress": [
            book.line("API responses to the internet", float(assumptions["api_gb_out"]), "egress.internet"),
        ],
    }


def _stored_gb(gb_per_month: float, retention_days: float) -> float:
    """What a log group or bucket holds once full: a month's logs times the months kept (no
    compression counted: CloudWatch Logs bills compressed storage, so this errs high)."""
    return gb_per_month * float(retention_days) / 30.0


def _log_lines(book: PriceBook, what: str, on: bool, gb: float, days: float, vended: bool) -> list[Line]:
    gb = gb if on else 0.0
    ingestion = "vended-first-10TB" if vended else "standard"
    return [
        book.line(f"{what} ingestion{'' if on else ' (off)'}", gb, "logs.ingestion", ingestion),
        book.line(f"{what} storage, {int(float(days))} days kept", _stored_gb(gb, days), "logs.storage", "standard"),
    ]


def hardening_lines(book: PriceBook, settings: dict[str, Any], assumptions: dict[str, Any]) -> dict[str, list[Line]]:
    """The hardening features of docs/security.md, each priced from its setting and the usage assumed."""
    waf, waf_alb = _truthy(settings["waf_enabled"]), _truthy(settings["waf_alb_enabled"])
    flows = _truthy(settings["vpc_flow_logs_enabled"])
    exports = [str(kind) for kind in settings["db_log_exports"] or []]
    sessions = _truthy(settings["session_logs_enabled"])
    dashboard = _truthy(settings["dashboard_enabled"])
    insights = _truthy(settings["db_performance_insights"])
    trail = _truthy(settings["cloudtrail_enabled"])
    first_trail = _truthy(assumptions["cloudtrail_first_trail"])
    others = int(assumptions["account_other_dashboards"])
    billed_dashboards = max(0, int(dashboard) + others - FREE_DASHBOARDS)
    waf_logs = float(assumptions["waf_logs_gb"]) * (int(waf) + int(waf_alb))
    expire = float(settings["log_bucket_expire_days"])
    return {
        "waf": [
            book.line(f"CloudFront web ACL (waf_enabled: {waf})", int(waf), "waf.web_acl"),
            book.line(f"its {WAF_RULES_PER_ACL} rules and rule groups", WAF_RULES_PER_ACL * int(waf), "waf.rule"),
            book.line(
                "requests inspected (the CloudFront requests)",
                float(assumptions["cloudfront_requests"]) * int(waf),
                "waf.requests",
                per=1_000_000,
            ),
            book.line(f"ALB web ACL (waf_alb_enabled: {waf_alb})", int(waf_alb), "waf.web_acl"),
            book.line(f"its {WAF_RULES_PER_ACL} rules and rule groups", WAF_RULES_PER_ACL * int(waf_alb), "waf.rule"),
            book.line(
                "requests inspected (the API requests)",
                float(assumptions["api_requests"]) * int(waf_alb),
                "waf.requests",
                per=1_000_000,
            ),
        ],
        "logs": [
            *_log_lines(book, "WAF logs", waf or waf_alb, waf_logs, settings["waf_log_retention_days"], True),
            *_log_lines(
                book,
                f"RDS log exports ({', '.join(exports) or 'none'})",
                bool(exports),
                float(assumptions["db_logs_gb"]),
                settings["db_log_retention_days"],
                False,
            ),
            *_log_lines(
                book,
                "Session Manager logs",
                sessions,
                float(assumptions["session_logs_gb"]),
                settings["ssm_session_log_retention_days"],
                False,
            ),
            book.line(
                f"log bucket (S3), {int(expire)} days kept",
                _stored_gb(float(assumptions["log_bucket_gb"]), expire),
                "s3.storage_standard",
            ),
        ],
        "flow_logs": _log_lines(
            book,
            "VPC flow logs",
            flows,
            float(assumptions["flow_logs_gb"]),
            settings["vpc_flow_logs_retention_days"],
            True,
        ),
        "dashboard": [
            book.line(
                f"{int(dashboard)} dashboard; {FREE_DASHBOARDS} per account free, {others} others assumed",
                billed_dashboards,
                "cloudwatch.dashboard",
            ),
        ],
        "insights": [
            book.line(
                f"7 days' history, the free tier (db_performance_insights: {insights})",
                int(insights),
                "rds.performance_insights",
            ),
        ],
        "cloudtrail": [
            book.line(
                f"management events, {'the first trail: free' if first_trail else 'a second copy'}"
                f" (cloudtrail_enabled: {trail}); no data events",
                float(assumptions["cloudtrail_management_events"]) * int(trail),
                "cloudtrail.management_events",
                "first-copy" if first_trail else "additional-copy",
                per=100_000,
            ),
        ],
    }


def cost_estimate(
    region: str,
    prices: dict[str, Any],
    settings: dict[str, Any],
    assumptions: dict[str, Any],
    budget: dict[str, Any],
) -> dict[str, Any]:
    """One region's monthly estimate: rows in the seed's table shape plus the lines behind them."""
    _missing(settings, REQUIRED_SETTINGS + FEATURE_SETTINGS, "the settings")
    _missing(assumptions, REQUIRED_ASSUMPTIONS + FEATURE_ASSUMPTIONS, "the assumptions")
    book = PriceBook.load(prices, region)
    grouped = service_lines(book, settings, assumptions) | hardening_lines(book, settings, assumptions)
    rows = []
    for service in SEED_SERVICES + OTHER_SERVICES:
        lines = grouped[service]
        estimate = round(sum(line.usd for line in lines), 2)
        in_seed = service in SEED_SERVICES
        allowed = float(budget.get(service, 0)) if in_seed else 0.0
        rows.append(
            {
                "service": service,
                "label": LABELS[service],
                "in_seed_table": in_seed,
                "estimate": estimate,
                "budget": allowed,
                "difference": round(estimate - allowed, 2),
                "lines": [line.as_dict() for line in lines],
            }
        )
    total = round(sum(row["estimate"] for row in rows), 2)
    return {"region": region, "prices_version": prices.get("prices_version", ""), "rows": rows, "total": total}


def _money(value: float, signed: bool = False) -> str:
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def cost_report(estimates: list[dict[str, Any]], budget_total: float) -> list[str]:
    """The table: service | estimate (first region) | budget | over(+)/under(-) | the other regions' estimates."""
    if not estimates:
        raise AnsibleFilterError("cost_report: no estimate given")
    chosen, others = estimates[0], estimates[1:]
    budget_total = float(budget_total)
    header = f"{'Service':<20}{chosen['region'] + ' (chosen)':>26}{'budget':>10}{'over(+)/under(-)':>18}"
    header += "".join(f"{other['region']:>18}" for other in others)
    out = [header, "-" * len(header)]
    by_service = [{row["service"]: row for row in estimate["rows"]} for estimate in others]
    for row in chosen["rows"]:
        label = row["label"] + ("" if row["in_seed_table"] else " *")
        budget = _money(row["budget"]) if row["in_seed_table"] else "-"
        line = f"{label:<20}{_money(row['estimate']):>26}{budget:>10}{_money(row['difference'], True):>18}"
        line += "".join(f"{_money(other[row['service']]['estimate']):>18}" for other in by_service)
        out.append(line)
    out.append("-" * len(header))
    total = f"{'Total':<20}{_money(chosen['total']):>26}{_money(budget_total):>10}"
    total += f"{_money(chosen['total'] - budget_total, True):>18}"
    total += "".join(f"{_money(other['total']):>18}" for other in others)
    out.append(total)
    out.append("* not in the seed's table 4.5: counted against the total only")
    for other in others:
        gap = chosen["total"] - other["total"]
        out.append(
            f"{chosen['region']} costs {_money(gap, True)} USD/month ({gap / other['total']:+.0%}) "
            f"against {other['region']} for the same settings"
        )
    return out


def cost_over_budget(estimate: dict[str, Any], budget_total: float) -> bool:
    return float(estimate["total"]) > float(budget_total)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cost_estimate": cost_estimate, "cost_report": cost_report, "cost_over_budget": cost_over_budget}
