"""roles/aws_monitoring and roles/aws_budget against a moto server seeded with the platform's resources.

The resources are made with boto3 under the platform's names (mensetsu-local-*), the way the other
roles name them: an ALB and its API target group, one tagged app instance, the RDS instance, the
Redis replication group and its member cluster. The rhythm: check mode (changed, nothing created),
real run, re-run and check mode on the converged state (changed=0, not one mutating request), then a
change (a threshold override and a terminated instance) planned in check mode and applied.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
import yaml

from tests.support.moto import REGION
from tests.support.naming import names
from tests.support.playbook import REPO, run_playbook
from tests.support.requests import writes

PLAYBOOK = "tests/playbooks/monitoring.yml"
PREFIX = "mensetsu-local"
NAMES = names(PREFIX)  # the naming map (group_vars/all/naming.yml)
ALARMS = NAMES["alarm_prefix"]  # alarms are <ALARMS>-<alarm>
ACCOUNT = "123456789012"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{NAMES['alert_topic']}"
# One attempt per call: an error here is the test's, not one to retry with back-off.
ENV = {"AWS_MAX_ATTEMPTS": "1"}


def _filters(name: str = "monitoring"):
    path = REPO / "plugins" / "filter" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"aws_monitoring_{name}_filters", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


filters = _filters()
CATALOGUE = yaml.safe_load((REPO / "group_vars" / "all" / "alarms.yml").read_text())["monitoring_alarms"]
THRESHOLDS = yaml.safe_load((REPO / "roles" / "aws_monitoring" / "defaults" / "main.yml").read_text())[
    "aws_monitoring_thresholds"
]


def seed_platform(boto) -> dict[str, str]:
    """The resources the alarms watch, under the platform's names; returns their ids."""
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{index}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for index, zone in ((0, "a"), (1, "c"))
    ]
    elb = boto("elbv2")
    alb = elb.create_load_balancer(Name=NAMES["alb"], Subnets=subnets, Type="application")["LoadBalancers"][0]
    group = elb.create_target_group(
        Name=NAMES["target_group"], Protocol="HTTP", Port=8000, VpcId=vpc, HealthCheckPath="/health"
    )["TargetGroups"][0]
    tags = [
        {"Key": "Project", "Value": "mensetsu"},
        {"Key": "Environment", "Value": "local"},
        {"Key": "Role", "Value": "app"},
        {"Key": "Name", "Value": f"{NAMES['app_host']}-1"},
    ]
    instance = ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.medium",
        SubnetId=subnets[0],
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )["Instances"][0]["InstanceId"]
    boto("rds").create_db_instance(
        DBInstanceIdentifier=NAMES["db"],
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="app",
        MasterUserPassword="not-a-real-password",
    )
    cache = boto("elasticache")
    cache.create_replication_group(
        ReplicationGroupId=NAMES["redis"],
        ReplicationGroupDescription="sessions",
        CacheNodeType="cache.t4g.micro",
        Engine="redis",
        NumCacheClusters=1,
    )
    # The role reads the group's MemberClusters (moto: <group>-001, whatever NumCacheClusters says).
    return {
        "alb": alb["LoadBalancerArn"].split(":loadbalancer/")[1],
        "target_group": group["TargetGroupArn"].split(":")[-1],
        "instance": instance,
    }


def alarms(cloudwatch) -> dict[str, dict]:
    found = cloudwatch.describe_alarms(AlarmNamePrefix=f"{ALARMS}-")["MetricAlarms"]
    return {alarm["AlarmName"]: alarm for alarm in found}


def dims(alarm: dict) -> dict[str, str]:
    return {dimension["Name"]: dimension["Value"] for dimension in alarm["Dimensions"]}


def run(check: bool = False, **extra_vars):
    result = run_playbook(PLAYBOOK, env=ENV, check=check, diff=check, extra_vars=extra_vars or None)
    assert result.returncode == 0, str(result)
    return result


@pytest.mark.stack  # converges the monitoring stage, three runs: not in make test-fast
def test_alert_topic_alarms_and_budget_converge(aws, boto) -> None:
    ids = seed_platform(boto)
    cloudwatch, sns, budgets = boto("cloudwatch"), boto("sns"), boto("budgets", "us-east-1")

    with aws.recording_requests() as requests:
        planned = run(check=True)
    assert planned.changed >= 3, planned  # topic, alarms, budget
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert sns.list_topics()["Topics"] == [] and alarms(cloudwatch) == {}
    assert budgets.describe_budgets(AccountId=ACCOUNT).get("Budgets", []) == []

    assert cloudwatch.list_dashboards()["DashboardEntries"] == []

    first = run()
    assert first.changed == 4, first  # topic, alarms, dashboard, budget
    instance, node = ids["instance"], f"{NAMES['redis']}-001"
    found = alarms(cloudwatch)
    assert set(found) == {
        f"{ALARMS}-alb-target-5xx",
        f"{ALARMS}-alb-elb-5xx",
        f"{ALARMS}-alb-response-time",
        f"{ALARMS}-alb-unhealthy-targets",
        f"{ALARMS}-ec2-status-check-{instance}",
        f"{ALARMS}-ec2-cpu-{instance}",
        f"{ALARMS}-rds-cpu",
        f"{ALARMS}-rds-free-storage",
        f"{ALARMS}-rds-connections",
        f"{ALARMS}-cache-cpu-{node}",
        f"{ALARMS}-cache-engine-cpu-{node}",
        f"{ALARMS}-cache-memory-{node}",
    }
    assert dims(found[f"{ALARMS}-alb-target-5xx"]) == {"LoadBalancer": ids["alb"]}
    assert dims(found[f"{ALARMS}-alb-unhealthy-targets"]) == {
        "LoadBalancer": ids["alb"],
        "TargetGroup": ids["target_group"],
    }
    assert dims(found[f"{ALARMS}-ec2-status-check-{instance}"]) == {"InstanceId": instance}
    assert dims(found[f"{ALARMS}-rds-free-storage"]) == {"DBInstanceIdentifier": NAMES["db"]}
    assert found[f"{ALARMS}-rds-free-storage"]["Threshold"] == 2 * 1024**3
    assert found[f"{ALARMS}-rds-free-storage"]["ComparisonOperator"] == "LessThanThreshold"
    assert dims(found[f"{ALARMS}-cache-memory-{node}"]) == {"CacheClusterId": node, "CacheNodeId": "0001"}
    assert found[f"{ALARMS}-ec2-cpu-{instance}"]["Threshold"] == 80
    for alarm in found.values():
        assert alarm["AlarmActions"] == [TOPIC_ARN] and alarm["OKActions"] == [TOPIC_ARN], alarm["AlarmName"]

    # The operations dashboard: one widget per view the issue names, on the resources found.
    board = json.loads(cloudwatch.get_dashboard(DashboardName=NAMES["dashboard"])["DashboardBody"])
    titles = {widget["properties"]["title"]: widget["properties"] for widget in board["widgets"]}
    assert set(titles) == {
        "ALB requests", "ALB 5xx answers", "ALB target response time (s)", "Target health (hosts)",
        "EC2 CPU (%) per app host", "EC2 status checks failed per app host", "RDS CPU (%)", "RDS connections",
        "RDS free storage (bytes)", "Redis CPU (%)", "Redis memory used (%)", "WAF blocked requests (CloudFront)",
    }  # fmt: skip
    assert titles["ALB requests"]["metrics"] == [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", ids["alb"]]]
    assert titles["EC2 status checks failed per app host"]["metrics"] == [
        ["AWS/EC2", "StatusCheckFailed", "InstanceId", instance]
    ]
    assert titles["RDS free storage (bytes)"]["metrics"] == [
        ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", NAMES["db"]]
    ]
    waf = titles["WAF blocked requests (CloudFront)"]
    assert waf["region"] == "us-east-1"
    assert waf["metrics"] == [["AWS/WAFV2", "BlockedRequests", "WebACL", NAMES["web_acl_cloudfront"], "Rule", "ALL"]]

    subscriptions = sns.list_subscriptions_by_topic(TopicArn=TOPIC_ARN)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@mensetsu.example.com")]
    policy = json.loads(sns.get_topic_attributes(TopicArn=TOPIC_ARN)["Attributes"]["Policy"])
    budgets_statement = next(s for s in policy["Statement"] if s["Principal"] == {"Service": "budgets.amazonaws.com"})
    assert budgets_statement["Action"] == "SNS:Publish" and budgets_statement["Resource"] == TOPIC_ARN

    budget = budgets.describe_budget(AccountId=ACCOUNT, BudgetName=NAMES["budget"])["Budget"]
    assert float(budget["BudgetLimit"]["Amount"]) == 90.0  # the local inventory mirrors dev: the seed's 90
    assert {part["Tags"]["Key"]: part["Tags"]["Values"] for part in budget["FilterExpression"]["And"]} == {
        "Environment": ["local"],
        "Project": ["mensetsu"],
    }
    notes = budgets.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=NAMES["budget"])
    assert {(n["NotificationType"], n["Threshold"]) for n in notes["Notifications"]} == {
        ("ACTUAL", 80.0),
        ("FORECASTED", 100.0),
    }

    with aws.recording_requests() as requests:
        again = run()
        checked = run(check=True)
    assert again.changed == 0, again
    assert checked.changed == 0, checked
    assert writes(requests) == [], [str(request) for request in writes(requests)]

    # A threshold changed for this environment, and the app instance replaced by nothing.
    boto("ec2").terminate_instances(InstanceIds=[instance])
    override = {"aws_monitoring_threshold_overrides": {"rds_connections": 150}}
    with aws.recording_requests() as requests:
        planned_change = run(check=True, **override)
    # One alarm changed, two deleted (one loop task each), the dashboard without the instance's widgets' rows.
    assert planned_change.changed == 3, planned_change
    assert writes(requests) == []
    assert found.keys() == alarms(cloudwatch).keys()

    run(**override)
    after = alarms(cloudwatch)
    assert after[f"{ALARMS}-rds-connections"]["Threshold"] == 150
    assert f"{ALARMS}-ec2-cpu-{instance}" not in after and f"{ALARMS}-ec2-status-check-{instance}" not in after
    assert len(after) == 10
    board = json.loads(cloudwatch.get_dashboard(DashboardName=NAMES["dashboard"])["DashboardBody"])
    assert "EC2 CPU (%) per app host" not in {widget["properties"]["title"] for widget in board["widgets"]}

    # dashboard_enabled false removes the dashboard; so does the role's removal (tasks/absent.yml).
    run(**override, dashboard_enabled=False)
    assert cloudwatch.list_dashboards()["DashboardEntries"] == []
    assert "No alarm for the app instances: not found (yet)" in " ".join(planned_change.output.split())


# --- the alarm catalogue, without AWS -----------------------------------------------------------------


TARGETS = {
    "alb": "app/x-alb/1",
    "target_group": "targetgroup/x-api/2",
    "instances": [{"id": "i-1"}, {"id": "i-2"}],
    "db": "x-db",
    "cache_nodes": [{"cluster": "x-redis-001", "node": "0001"}],
}


def test_every_alarm_has_a_threshold_and_a_readable_description() -> None:
    specs = filters.aws_monitoring_alarm_specs(CATALOGUE, THRESHOLDS, TARGETS, "x", "arn:topic")
    assert len(specs) == 3 + 1 + 2 * 2 + 3 + 3
    descriptions = {spec["name"]: spec["description"] for spec in specs}
    assert descriptions["x-ec2-cpu-i-2"] == "CPU above 80% on i-2 for 15 minutes"
    assert descriptions["x-rds-free-storage"] == "Database free storage below 2 GB"
    assert all("{" not in text for text in descriptions.values())


def test_missing_resources_are_named_and_a_missing_threshold_fails() -> None:
    assert filters.aws_monitoring_missing(CATALOGUE, {"alb": "", "instances": [], "db": "x-db"}) == [
        "the load balancer",
        "the API target group",
        "the app instances",
        "the Redis nodes",
    ]
    with pytest.raises(Exception, match="no threshold 'ec2_cpu_percent' for alarm ec2-cpu"):
        filters.aws_monitoring_alarm_specs(
            CATALOGUE, {k: v for k, v in THRESHOLDS.items() if k != "ec2_cpu_percent"}, TARGETS, "x", "t"
        )


def test_only_this_roles_alarms_of_gone_resources_are_stale() -> None:
    specs = filters.aws_monitoring_alarm_specs(CATALOGUE, THRESHOLDS, TARGETS, "x", "t")
    existing = [spec["name"] for spec in specs] + ["x-ec2-cpu-i-9", "x-something-else", "x-rds-cpu"]
    assert filters.aws_monitoring_stale(existing, specs, CATALOGUE, "x") == ["x-ec2-cpu-i-9"]


def test_the_dashboard_body_lays_out_every_view_and_leaves_out_what_is_not_found() -> None:
    body = _filters("dashboard").aws_monitoring_dashboard_body
    full = body(TARGETS, REGION, "x-cloudfront")
    assert len(full["widgets"]) == 12
    cells = {(widget["x"], widget["y"]) for widget in full["widgets"]}
    assert len(cells) == 12, "two widgets on the same place"
    cpu = next(w for w in full["widgets"] if w["properties"]["title"] == "EC2 CPU (%) per app host")
    assert [row[3] for row in cpu["properties"]["metrics"]] == ["i-1", "i-2"]
    assert body(TARGETS, REGION, "x-cloudfront") == full, "the same targets give the same body"
    empty = body({"alb": "", "target_group": "", "instances": [], "db": "", "cache_nodes": []}, REGION, "")
    assert empty == {"widgets": []}
    no_waf = body(TARGETS, REGION, "")
    assert len(no_waf["widgets"]) == 11 and all(w["properties"]["region"] == REGION for w in no_waf["widgets"])
