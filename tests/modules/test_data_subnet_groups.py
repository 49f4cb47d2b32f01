"""library/data_subnet_groups.py against the moto server: both subnet groups and the RDS group's tags (by
the ARN it has) read in one round trip, a write only where one differs, none in check mode, one result
per group named for the drift report. moto has no ModifyCacheSubnetGroup: the cache group's update is
checked with botocore's Stubber on the ElastiCache model. The whole role runs it in
tests/test_provision.py."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from tests.support.library_code import TaskModule, load_library_module
from tests.support.requests import writes

groups_module = load_library_module("data_subnet_groups")
ACCOUNT = "123456789012"  # moto's account
TAGS = {"Project": "mensetsu", "Environment": "test"}
READS = sorted(["DescribeDBSubnetGroups", "ListTagsForResource", "DescribeCacheSubnetGroups"])


@pytest.fixture
def subnets(boto) -> list[str]:
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.45.0.0/16")["Vpc"]["VpcId"]
    return [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.45.{n}.0/24", AvailabilityZone=f"ap-northeast-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in ((1, "a"), (2, "c"))
    ]


def params(subnets: list[str], **changes: Any) -> dict[str, Any]:
    return {
        "rds": {"name": "t-db", "description": "t PostgreSQL, private subnets", "subnets": subnets, "tags": TAGS},
        "elasticache": {"name": "t-redis", "description": "t Redis, private subnets", "subnets": subnets},
        "account_id": ACCOUNT,
        **changes,
    }


def wrapped(client: Any) -> Any:
    return RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1))


def converge(boto, task_params: dict[str, Any], check: bool = False) -> dict[str, Any]:
    task = TaskModule(task_params, check_mode=check)
    return groups_module.converge(task, wrapped(boto("rds")), wrapped(boto("elasticache")))


def operations(requests) -> list[str]:
    return sorted(request.action for request in requests)


def by_resource(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["resource"]: entry for entry in result["results"]}


def test_check_mode_plans_both_groups_and_writes_nothing(aws, boto, subnets) -> None:
    with aws.recording_requests() as requests:
        result = converge(boto, params(subnets), check=True)
    assert writes(requests) == [] and operations(requests) == READS
    assert [(entry["resource"], entry["action"]) for entry in result["results"]] == [
        ("rds_subnet_group", "created"),
        ("cache_subnet_group", "created"),
    ]
    assert boto("rds").describe_db_subnet_groups()["DBSubnetGroups"] == []


def test_converged_groups_are_three_reads_in_one_round_trip(aws, boto, subnets) -> None:
    created = by_resource(converge(boto, params(subnets)))
    arn = boto("rds").describe_db_subnet_groups(DBSubnetGroupName="t-db")["DBSubnetGroups"][0]["DBSubnetGroupArn"]
    assert created["rds_subnet_group"]["subnet_group"]["db_subnet_group_arn"] == arn
    tags = boto("rds").list_tags_for_resource(ResourceName=arn)["TagList"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == TAGS
    cache = boto("elasticache").describe_cache_subnet_groups(CacheSubnetGroupName="t-redis")["CacheSubnetGroups"][0]
    assert cache["CacheSubnetGroupDescription"] == "t Redis, private subnets"
    for check in (False, True):
        with aws.recording_requests() as requests:
            again = converge(boto, params(subnets), check=check)
        assert writes(requests) == [] and operations(requests) == READS, operations(requests)
        assert again["changed"] is False
        entries = by_resource(again)
        assert entries["rds_subnet_group"]["drift_kind"] == "rds_subnet_group"
        assert entries["rds_subnet_group"]["subnet_group"]["name"] == "t-db"
        assert entries["cache_subnet_group"]["cache_subnet_group"]["name"] == "t-redis"
    # Without the account id the tags are read after the group, by the ARN it returns.
    with aws.recording_requests() as requests:
        assert converge(boto, params(subnets, account_id=None))["changed"] is False
    assert operations(requests) == READS


def test_the_rds_groups_tag_drift_is_a_diff_in_check_mode_and_the_converge_puts_it_back(aws, boto, subnets) -> None:
    converge(boto, params(subnets))
    rds = boto("rds")
    arn = rds.describe_db_subnet_groups(DBSubnetGroupName="t-db")["DBSubnetGroups"][0]["DBSubnetGroupArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "Owner", "Value": "someone"}])
    rds.remove_tags_from_resource(ResourceName=arn, TagKeys=["Environment"])
    with aws.recording_requests() as requests:
        planned = by_resource(converge(boto, params(subnets), check=True))
    assert writes(requests) == []
    assert planned["rds_subnet_group"]["diff"] == {
        "before": {"tags": {"Project": "mensetsu", "Owner": "someone"}},
        "after": {"tags": TAGS},
    }
    assert planned["cache_subnet_group"]["changed"] is False
    with aws.recording_requests() as requests:
        assert converge(boto, params(subnets))["changed"] is True
    assert [r.action for r in writes(requests)] == ["RemoveTagsFromResource", "AddTagsToResource"]
    with aws.recording_requests() as requests:
        assert converge(boto, params(subnets))["changed"] is False
    assert writes(requests) == []


def test_an_rds_group_that_differs_is_modified_as_aws_takes_it(subnets) -> None:
    """moto's ModifyDBSubnetGroup drops the group (moto 5.2.5 pops it and never stores it again,
    docs/emulator.md): the update is checked against the RDS model with botocore's Stubber."""
    client = boto3.client("rds", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x")
    arn = f"arn:aws:rds:ap-northeast-1:{ACCOUNT}:subgrp:t-db"
    group = {
        "DBSubnetGroupName": "t-db",
        "DBSubnetGroupDescription": "by hand",
        "VpcId": "vpc-0123456789abcdef0",
        "SubnetGroupStatus": "Complete",
        "Subnets": [{"SubnetIdentifier": subnet} for subnet in subnets[:1]],
        "DBSubnetGroupArn": arn,
    }
    tags = {"TagList": [{"Key": key, "Value": value} for key, value in TAGS.items()]}
    with Stubber(client) as stubber:
        stubber.add_response("describe_db_subnet_groups", {"DBSubnetGroups": [group]}, {"DBSubnetGroupName": "t-db"})
        stubber.add_response("list_tags_for_resource", tags, {"ResourceName": arn})
        modified = {**group, "DBSubnetGroupDescription": "t PostgreSQL, private subnets"}
        modified["Subnets"] = [{"SubnetIdentifier": subnet} for subnet in subnets]
        stubber.add_response(
            "modify_db_subnet_group",
            {"DBSubnetGroup": modified},
            {
                "DBSubnetGroupName": "t-db",
                "DBSubnetGroupDescription": "t PostgreSQL, private subnets",
                "SubnetIds": subnets,
            },
        )
        result = groups_module.converge(
            # No account id: the tags are read after the group (the Stubber answers in order).
            TaskModule(params(subnets, elasticache=None, account_id=None)),
            wrapped(client),
            None,
        )
        stubber.assert_no_pending_responses()
    entry = result["results"][0]
    assert entry["diff"] == {
        "before": {"description": "by hand", "subnets": sorted(subnets[:1])},
        "after": {"description": "t PostgreSQL, private subnets", "subnets": sorted(subnets)},
    }
    assert entry["subnet_group"]["db_subnet_group_arn"] == arn


def test_a_cache_group_that_differs_is_modified_as_aws_takes_it(subnets) -> None:
    """moto has no ModifyCacheSubnetGroup: the request is checked against the ElastiCache model."""
    client = boto3.client("elasticache", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x")
    group = {
        "CacheSubnetGroupName": "t-redis",
        "CacheSubnetGroupDescription": "by hand",
        "VpcId": "vpc-0123456789abcdef0",
        "Subnets": [{"SubnetIdentifier": subnet} for subnet in subnets],
        "ARN": f"arn:aws:elasticache:ap-northeast-1:{ACCOUNT}:subnetgroup:t-redis",
    }
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_cache_subnet_groups", {"CacheSubnetGroups": [group]}, {"CacheSubnetGroupName": "t-redis"}
        )
        stubber.add_response(
            "modify_cache_subnet_group",
            {"CacheSubnetGroup": {**group, "CacheSubnetGroupDescription": "t Redis, private subnets"}},
            {
                "CacheSubnetGroupName": "t-redis",
                "CacheSubnetGroupDescription": "t Redis, private subnets",
                "SubnetIds": subnets,
            },
        )
        task = TaskModule(params(subnets, rds=None))
        result = groups_module.converge(task, None, wrapped(client))
        stubber.assert_no_pending_responses()
    entry = result["results"][0]
    assert entry["diff"] == {
        "before": {"description": "by hand"},
        "after": {"description": "t Redis, private subnets"},
    }
    assert entry["cache_subnet_group"]["arn"] == group["ARN"]
