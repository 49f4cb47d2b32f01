"""library/ec2_security_groups.py against the moto server: one DescribeSecurityGroups for all the
declared groups (no STS, no DescribeTags), a write only where a group differs, none in check mode,
one result per group (with its diff) for the drift report. The whole role runs it in
tests/test_provision.py and tests/test_drift.py."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

groups_module = load_library_module("ec2_security_groups")
TAGS = {"Project": "mensetsu", "Environment": "test"}


def rule(port: int, description: str, **source: str) -> dict[str, Any]:
    return {"proto": "tcp", "ports": [port], "rule_desc": description, **source}


def declared() -> list[dict[str, Any]]:
    return [
        {
            "name": "t-alb",
            "description": "ALB: HTTPS from the internet",
            "rules": [rule(443, "HTTPS from anywhere", cidr_ip="0.0.0.0/0")],
            "tags": {**TAGS, "Name": "t-alb"},
        },
        {
            "name": "t-app",
            "description": "EC2: API from the ALB, SSH from the administrator",
            "rules": [
                rule(8000, "FastAPI from the ALB", group_name="t-alb"),
                rule(22, "SSH from the administrator", cidr_ip="203.0.113.7/32"),
            ],
            "tags": {**TAGS, "Name": "t-app"},
        },
        {
            "name": "t-db",
            "description": "RDS PostgreSQL from the app hosts",
            "rules": [rule(5432, "PostgreSQL from EC2", group_name="t-app")],
            "tags": {**TAGS, "Name": "t-db"},
        },
    ]


@pytest.fixture
def ec2(boto):
    return boto("ec2")


@pytest.fixture
def vpc_id(ec2) -> str:
    return ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]


def converge(ec2, vpc_id: str, groups: list[dict], check: bool = False) -> dict[str, Any]:
    task = TaskModule({"vpc_id": vpc_id, "groups": groups}, check_mode=check)
    client = RetryingBotoClientWrapper(ec2, AWSRetry.jittered_backoff(retries=1))
    return groups_module.converge(task, client)


def stored(ec2, vpc_id: str) -> dict[str, dict]:
    found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    return {group["GroupName"]: group for group in found if group["GroupName"] != "default"}


def inbound(group: dict) -> set[tuple]:
    """(protocol, port, source, description) of each inbound rule."""
    rules = set()
    for permission in group["IpPermissions"]:
        port = permission.get("FromPort")
        for member in permission.get("IpRanges", []):
            rules.add((permission["IpProtocol"], port, member["CidrIp"], member.get("Description", "")))
        for member in permission.get("UserIdGroupPairs", []):
            rules.add((permission["IpProtocol"], port, member["GroupId"], member.get("Description", "")))
    return rules


def operations(requests) -> list[str]:
    return [request.action for request in requests]


def test_check_mode_plans_the_groups_and_writes_nothing(aws, ec2, vpc_id) -> None:
    with aws.recording_requests() as requests:
        result = converge(ec2, vpc_id, declared(), check=True)
    assert writes(requests) == [] and operations(requests) == ["DescribeSecurityGroups"]
    assert result["changed"] is True and [entry["action"] for entry in result["results"]] == ["created"] * 3
    assert "group_id" not in result["results"][0]
    # A group not yet created is named by its name in the rules that refer to it.
    assert result["results"][2]["diff"]["after"]["ip_permissions"] == [
        {
            "ip_protocol": "tcp",
            "from_port": 5432,
            "to_port": 5432,
            "user_id_group_pairs": [{"group_id": "t-app", "description": "PostgreSQL from EC2"}],
        }
    ]
    assert stored(ec2, vpc_id) == {}


def test_converged_groups_are_one_read_and_drift_is_planned_then_fixed_with_only_its_writes(aws, ec2, vpc_id) -> None:
    first = converge(ec2, vpc_id, declared())
    assert [entry["action"] for entry in first["results"]] == ["created"] * 3
    found = stored(ec2, vpc_id)
    alb, app, db = (found[name]["GroupId"] for name in ("t-alb", "t-app", "t-db"))
    assert [entry["group_id"] for entry in first["results"]] == [alb, app, db]
    assert inbound(found["t-app"]) == {
        ("tcp", 8000, alb, "FastAPI from the ALB"),
        ("tcp", 22, "203.0.113.7/32", "SSH from the administrator"),
    }
    assert inbound(found["t-db"]) == {("tcp", 5432, app, "PostgreSQL from EC2")}
    assert {tag["Key"]: tag["Value"] for tag in found["t-db"]["Tags"]} == {**TAGS, "Name": "t-db"}

    with aws.recording_requests() as requests:
        again = converge(ec2, vpc_id, declared())
    assert again["changed"] is False and operations(requests) == ["DescribeSecurityGroups"]
    assert again["results"][1]["tags"] == {**TAGS, "Name": "t-app"}

    # By hand, as tests/test_drift.py does: SSH opened to the world on the app group, the database's
    # only rule revoked, the load balancer's rule described otherwise, and a tag added.
    ec2.authorize_security_group_ingress(
        GroupId=app,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [db]}])["SecurityGroupRules"]
    ec2.revoke_security_group_ingress(
        GroupId=db, SecurityGroupRuleIds=[item["SecurityGroupRuleId"] for item in rules if not item["IsEgress"]]
    )
    ec2.update_security_group_rule_descriptions_ingress(
        GroupId=alb,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "by hand"}],
            }
        ],
    )
    ec2.create_tags(Resources=[db], Tags=[{"Key": "Owner", "Value": "someone"}])
    # And the cache port opened to the load balancer's group on the app group (a group source to revoke).
    ec2.authorize_security_group_ingress(
        GroupId=app,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 6379,
                "ToPort": 6379,
                "UserIdGroupPairs": [{"GroupId": alb, "Description": "by hand"}],
            }
        ],
    )
    with aws.recording_requests() as requests:
        planned = converge(ec2, vpc_id, declared(), check=True)
    assert writes(requests) == [] and operations(requests) == ["DescribeSecurityGroups"]
    assert [entry["changed"] for entry in planned["results"]] == [True, True, True]
    app_diff = planned["results"][1]["diff"]
    assert set(app_diff["before"]) == {"ip_permissions"}
    ssh = next(p for p in app_diff["before"]["ip_permissions"] if p["from_port"] == 22)
    assert {"cidr_ip": "0.0.0.0/0", "description": ""} in ssh["ip_ranges"]
    assert planned["results"][2]["diff"] == {
        "before": {"ip_permissions": [], "tags": {**TAGS, "Name": "t-db", "Owner": "someone"}},
        "after": {
            "ip_permissions": [
                {
                    "ip_protocol": "tcp",
                    "from_port": 5432,
                    "to_port": 5432,
                    "user_id_group_pairs": [{"group_id": app, "description": "PostgreSQL from EC2"}],
                }
            ],
            "tags": {**TAGS, "Name": "t-db"},
        },
    }

    with aws.recording_requests() as requests:
        fixed = converge(ec2, vpc_id, declared())
    assert fixed["changed"] is True
    assert operations(requests) == [
        "DescribeSecurityGroups",
        "UpdateSecurityGroupRuleDescriptionsIngress",
        "RevokeSecurityGroupIngress",
        "AuthorizeSecurityGroupIngress",
        "DeleteTags",
    ]
    found = stored(ec2, vpc_id)
    assert inbound(found["t-alb"]) == {("tcp", 443, "0.0.0.0/0", "HTTPS from anywhere")}
    assert inbound(found["t-app"]) == {
        ("tcp", 8000, alb, "FastAPI from the ALB"),
        ("tcp", 22, "203.0.113.7/32", "SSH from the administrator"),
    }
    assert inbound(found["t-db"]) == {("tcp", 5432, app, "PostgreSQL from EC2")}
    assert converge(ec2, vpc_id, declared())["changed"] is False


def test_a_different_description_is_a_warning_not_a_change(aws, ec2, vpc_id) -> None:
    converge(ec2, vpc_id, declared())
    renamed = declared()
    renamed[0]["description"] = "another text"
    task = TaskModule({"vpc_id": vpc_id, "groups": renamed})
    result = groups_module.converge(task, RetryingBotoClientWrapper(ec2, AWSRetry.jittered_backoff(retries=1)))
    assert result["changed"] is False
    assert any("t-alb" in warning and "cannot change it in place" in warning for warning in task.warnings)


def test_a_rule_naming_an_undeclared_group_stops_before_any_request(aws, ec2, vpc_id) -> None:
    groups = declared()
    groups[2]["rules"][0]["group_name"] = "t-cache"
    with aws.recording_requests() as requests, pytest.raises(ModuleFailed, match="t-cache"):
        converge(ec2, vpc_id, groups)
    assert requests == []


def test_aws_describe_answer_reads_as_the_declared_rules() -> None:
    """AWS's DescribeSecurityGroups shape (EC2 API reference, IpPermission): one permission per
    protocol and ports holding several sources, UserId beside each GroupId, no Description key on a
    rule without one, no ports for protocol -1. Moto's answers are the same shape; this pins it."""
    answer = [
        {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "IpRanges": [{"CidrIp": "203.0.113.7/32", "Description": "SSH"}, {"CidrIp": "0.0.0.0/0"}],
            "Ipv6Ranges": [],
            "PrefixListIds": [],
            "UserIdGroupPairs": [{"GroupId": "sg-0aaa", "UserId": "123456789012", "Description": "jump"}],
        },
        {"IpProtocol": "-1", "IpRanges": [], "UserIdGroupPairs": [{"GroupId": "sg-0bbb", "UserId": "123456789012"}]},
    ]
    actual = groups_module.rules_of(answer)
    wanted = groups_module.declared_rules(
        [
            {"proto": "tcp", "ports": [22], "rule_desc": "SSH", "cidr_ip": "203.0.113.7/32"},
            {"proto": "6", "ports": [22], "rule_desc": "jump", "group_name": "jump"},
        ],
        {"jump": "sg-0aaa"},
    )
    extra = {key: text for key, text in actual.items() if key not in wanted}
    assert extra == {
        ("tcp", 22, 22, "IpRanges", "0.0.0.0/0"): "",
        ("-1", None, None, "UserIdGroupPairs", "sg-0bbb"): "",
    }
    assert all(actual[key] == text for key, text in wanted.items())
    # The revoke request of the extra rules, as the EC2 API takes it.
    assert groups_module.permissions(extra, api=True) == [
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-0bbb"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ]


def test_a_rule_written_while_aws_does_not_yet_see_the_new_group_is_retried() -> None:
    """AWS's own answers (botocore's Stubber): right after CreateSecurityGroup, EC2 may answer the
    group's first AuthorizeSecurityGroupIngress InvalidGroup.NotFound (eventual consistency). The
    module's retry takes that answer and sends the write again; without it the first run fails."""
    import boto3
    from botocore.stub import Stubber

    raw = boto3.client(
        "ec2", region_name="ap-northeast-1", aws_access_key_id="stubbed", aws_secret_access_key="stubbed"
    )
    client = RetryingBotoClientWrapper(raw, groups_module.retry_decorator())
    spec = declared()[0]
    task = TaskModule({"vpc_id": "vpc-0123456789abcdef0", "groups": [spec]})
    created = "sg-0123456789abcdef0"
    permission = {
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "HTTPS from anywhere"}],
    }
    with Stubber(raw) as stubber:
        stubber.add_response("describe_security_groups", {"SecurityGroups": []})
        stubber.add_response(
            "create_security_group",
            {"GroupId": created},
            {
                "VpcId": "vpc-0123456789abcdef0",
                "GroupName": "t-alb",
                "Description": spec["description"],
                "TagSpecifications": [
                    {
                        "ResourceType": "security-group",
                        "Tags": [{"Key": key, "Value": value} for key, value in sorted(spec["tags"].items())],
                    }
                ],
            },
        )
        stubber.add_client_error(
            "authorize_security_group_ingress",
            "InvalidGroup.NotFound",
            f"The security group '{created}' does not exist",
            http_status_code=400,
        )
        stubber.add_response(
            "authorize_security_group_ingress", {"Return": True}, {"GroupId": created, "IpPermissions": [permission]}
        )
        result = groups_module.converge(task, client)
        stubber.assert_no_pending_responses()
    assert result["changed"] is True
    assert [(entry["group_name"], entry["action"], entry["group_id"]) for entry in result["results"]] == [
        ("t-alb", "created", created)
    ]
