"""library/elb_load_balancing.py against the moto server: the target group and the load balancer with its
listener read in three round trips (8 requests), a write only where one differs, none in check mode,
one result per resource (with its diff, named for the drift report), and a setting AWS fixes at
creation refused before any write. The whole role runs it in tests/test_provision.py and
tests/test_drift.py."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

balancing_module = load_library_module("elb_load_balancing")
TAGS = {"Project": "mensetsu", "Environment": "test"}
NO_OP_READS = sorted(
    [
        "DescribeLoadBalancers",
        "DescribeTargetGroups",
        "DescribeListeners",
        "DescribeLoadBalancerAttributes",
        "DescribeTargetGroupAttributes",
        "DescribeTargetHealth",
        "DescribeTags",
        "DescribeRules",
    ]
)


@pytest.fixture
def elb(boto):
    return boto("elbv2")


@pytest.fixture
def network(boto) -> dict[str, Any]:
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.43.{n}.0/24", AvailabilityZone=f"ap-northeast-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in ((1, "a"), (2, "c"))
    ]
    group = ec2.create_security_group(GroupName="t-alb", Description="t", VpcId=vpc)["GroupId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instances = [
        item["InstanceId"]
        for item in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, SubnetId=subnets[0])["Instances"]
    ]
    acm = boto("acm")
    certificate = acm.request_certificate(DomainName="api.test.example.com", ValidationMethod="DNS")["CertificateArn"]
    return {"vpc": vpc, "subnets": subnets, "group": group, "instances": instances, "certificate": certificate}


def params(network: dict[str, Any], **changes: Any) -> dict[str, Any]:
    group = {
        "name": "t-api",
        "protocol": "HTTP",
        "port": 8000,
        "vpc_id": network["vpc"],
        "target_type": "instance",
        "health_check_protocol": "HTTP",
        "health_check_path": "/health",
        "health_check_port": "traffic-port",
        "health_check_interval": 15,
        "health_check_timeout": 5,
        "healthy_threshold_count": 2,
        "unhealthy_threshold_count": 3,
        "successful_response_codes": "200",
        "deregistration_delay_timeout": 30,
        "targets": [{"Id": network["instances"][0]}],
    }
    group.update(changes.pop("target_group", {}))
    return {
        "name": "t-alb",
        "scheme": "internet-facing",
        "subnets": network["subnets"],
        "security_groups": [network["group"]],
        "attributes": {"access_logs.s3.enabled": False},
        "listeners": [
            {
                "protocol": "HTTPS",
                "port": 443,
                "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                "certificate_arn": network["certificate"],
            }
        ],
        "purge_listeners": True,
        "purge_rules": True,
        "target_group": group,
        "tags": TAGS,
        **changes,
    }


def converge(elb, task_params: dict[str, Any], check: bool = False) -> dict[str, Any]:
    task = TaskModule(task_params, check_mode=check)
    return balancing_module.converge(task, RetryingBotoClientWrapper(elb, AWSRetry.jittered_backoff(retries=1)))


def operations(requests) -> list[str]:
    return sorted(request.action for request in requests)


def by_resource(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["resource"]: entry for entry in result["results"]}


def test_check_mode_plans_both_and_writes_nothing(aws, elb, network) -> None:
    with aws.recording_requests() as requests:
        result = converge(elb, params(network), check=True)
    assert writes(requests) == [] and operations(requests) == ["DescribeLoadBalancers", "DescribeTargetGroups"]
    entries = by_resource(result)
    assert [(entry["resource"], entry["action"]) for entry in result["results"]] == [
        ("target_group", "created"),
        ("load_balancer", "created"),
    ]
    planned = entries["load_balancer"]["diff"]["after"]["listener 443"]["default_actions"]
    assert planned == [{"type": "forward", "target_group_arn": balancing_module.PLANNED_GROUP}]
    assert result["load_balancer_arn"] == result["target_group_arn"] == "" and result["changed"] is True
    assert elb.describe_load_balancers()["LoadBalancers"] == []


def test_a_converged_pair_is_eight_reads_in_three_round_trips_and_check_mode_returns_its_address(
    aws, elb, network
) -> None:
    first = converge(elb, params(network))
    assert first["changed"] is True and first["dns_name"] and first["listeners"][0]["listener_arn"]
    balancer = elb.describe_load_balancers(Names=["t-alb"])["LoadBalancers"][0]
    group = elb.describe_target_groups(Names=["t-api"])["TargetGroups"][0]
    assert (
        first["load_balancer_arn"] == balancer["LoadBalancerArn"]
        and first["target_group_arn"] == group["TargetGroupArn"]
    )
    assert (group["HealthCheckPath"], group["HealthCheckIntervalSeconds"], group["Matcher"]) == (
        "/health",
        15,
        {"HttpCode": "200"},
    )
    listener = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"][0]
    assert (listener["Port"], listener["SslPolicy"]) == (443, "ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert listener["DefaultActions"][0]["TargetGroupArn"] == group["TargetGroupArn"]
    targets = elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    assert [(t["Target"]["Id"], t["Target"]["Port"]) for t in targets] == [(network["instances"][0], 8000)]
    tags = elb.describe_tags(ResourceArns=[balancer["LoadBalancerArn"], group["TargetGroupArn"]])["TagDescriptions"]
    assert all({t["Key"]: t["Value"] for t in item["Tags"]} == TAGS for item in tags)
    for check in (False, True):
        with aws.recording_requests() as requests:
            again = converge(elb, params(network), check=check)
        assert writes(requests) == [] and operations(requests) == NO_OP_READS, operations(requests)
        assert again["changed"] is False and [entry["action"] for entry in again["results"]] == ["unchanged"] * 2
        assert (again["dns_name"], again["load_balancer_arn"]) == (balancer["DNSName"], balancer["LoadBalancerArn"])
        assert again["canonical_hosted_zone_id"] == balancer["CanonicalHostedZoneId"]
        # The drift report names each result as AWS does (drift_kind, the resource's name and ARN).
        entries = by_resource(again)
        assert entries["target_group"]["drift_kind"] == "elb_target_group"
        assert entries["target_group"]["target_group_arn"] == group["TargetGroupArn"]
        assert entries["load_balancer"]["drift_kind"] == "elb_application_lb"
        assert entries["load_balancer"]["load_balancer_name"] == "t-alb"


def test_out_of_band_changes_are_diffs_in_check_mode_and_the_converge_undoes_them(aws, elb, network) -> None:
    converge(elb, params(network))
    balancer = elb.describe_load_balancers(Names=["t-alb"])["LoadBalancers"][0]["LoadBalancerArn"]
    group = elb.describe_target_groups(Names=["t-api"])["TargetGroups"][0]["TargetGroupArn"]
    https = elb.describe_listeners(LoadBalancerArn=balancer)["Listeners"][0]["ListenerArn"]
    forward = [{"Type": "forward", "TargetGroupArn": group}]
    elb.modify_target_group(TargetGroupArn=group, HealthCheckPath="/")
    elb.modify_listener(ListenerArn=https, SslPolicy="ELBSecurityPolicy-2016-08")
    elb.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=8080, DefaultActions=forward)
    condition = [{"Field": "path-pattern", "Values": ["/admin/*"]}]
    elb.create_rule(ListenerArn=https, Priority=10, Conditions=condition, Actions=forward)
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": network["instances"][1], "Port": 8000}])
    elb.add_tags(ResourceArns=[balancer], Tags=[{"Key": "Owner", "Value": "someone"}])

    with aws.recording_requests() as requests:
        planned = converge(elb, params(network), check=True)
    assert writes(requests) == []
    entries = by_resource(planned)
    assert entries["target_group"]["diff"] == {
        "before": {
            "health_check_path": "/",
            "targets": sorted(f"{instance}:8000" for instance in network["instances"]),
        },
        "after": {"health_check_path": "/health", "targets": [f"{network['instances'][0]}:8000"]},
    }
    before, after = entries["load_balancer"]["diff"]["before"], entries["load_balancer"]["diff"]["after"]
    assert (before["listener 443"]["ssl_policy"], after["listener 443"]["ssl_policy"]) == (
        "ELBSecurityPolicy-2016-08",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
    )
    assert (before["listener 443"]["rules"], after["listener 443"]["rules"]) == (
        ["10: path-pattern=/admin/* -> forward"],
        [],
    )
    assert (before["listener 8080"], after["listener 8080"]) == ("present", "absent")
    assert before["tags"] == {**TAGS, "Owner": "someone"} and after["tags"] == TAGS

    fixed = converge(elb, params(network))
    assert fixed["changed"] is True
    listeners = elb.describe_listeners(LoadBalancerArn=balancer)["Listeners"]
    assert [(item["Port"], item["SslPolicy"]) for item in listeners] == [(443, "ELBSecurityPolicy-TLS13-1-2-2021-06")]
    assert [rule for rule in elb.describe_rules(ListenerArn=https)["Rules"] if not rule["IsDefault"]] == []
    with aws.recording_requests() as requests:
        again = converge(elb, params(network))
    assert writes(requests) == [] and again["changed"] is False, again["results"]


def test_a_setting_aws_fixes_at_creation_is_reported_and_stops_a_converge_before_any_write(aws, elb, network) -> None:
    converge(elb, params(network))
    moved = params(network, target_group={"port": 8080}, scheme="internal")
    planned = by_resource(converge(elb, moved, check=True))
    assert planned["target_group"]["diff"]["before"]["port"] == 8000
    assert planned["load_balancer"]["diff"]["after"]["scheme"] == "internal"
    with aws.recording_requests() as requests, pytest.raises(ModuleFailed, match="target group t-api: port is 8000"):
        converge(elb, moved)
    assert writes(requests) == []


def test_undeclared_listeners_and_rules_stay_without_purge(aws, elb, network) -> None:
    converge(elb, params(network))
    balancer = elb.describe_load_balancers(Names=["t-alb"])["LoadBalancers"][0]["LoadBalancerArn"]
    group = elb.describe_target_groups(Names=["t-api"])["TargetGroups"][0]["TargetGroupArn"]
    forward = [{"Type": "forward", "TargetGroupArn": group}]
    elb.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=8080, DefaultActions=forward)
    kept = params(network, purge_listeners=False, purge_rules=False)
    with aws.recording_requests() as requests:
        result = converge(elb, kept)
    assert writes(requests) == [] and result["changed"] is False
    assert "DescribeRules" not in operations(requests)
