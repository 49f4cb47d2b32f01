"""library/ec2_vpc_subnets.py against the moto server: one DescribeSubnets for all the VPC's subnets, a
write only where a subnet differs, none in check mode, one result per subnet (with its diff) for the
drift report. The whole role runs it in tests/test_provision.py and tests/test_drift.py."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

subnets_module = load_library_module("ec2_vpc_subnets")
TAGS = {"Project": "mensetsu", "Environment": "test"}


def declared() -> list[dict[str, Any]]:
    return [
        {"cidr": "10.40.0.0/24", "az": "ap-northeast-1a", "map_public": True, "tags": {**TAGS, "Name": "public-a"}},
        {"cidr": "10.40.10.0/24", "az": "ap-northeast-1c", "map_public": False, "tags": {**TAGS, "Name": "private-c"}},
    ]


@pytest.fixture
def ec2(boto):
    return boto("ec2")


@pytest.fixture
def vpc_id(ec2) -> str:
    return ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]


def converge(ec2, vpc_id: str, subnets: list[dict], check: bool = False, **params: Any) -> dict[str, Any]:
    task = TaskModule(
        {"vpc_id": vpc_id, "subnets": subnets, "purge_tags": True, "wait": True, "wait_timeout": 60, **params},
        check_mode=check,
    )
    client = RetryingBotoClientWrapper(ec2, AWSRetry.jittered_backoff(retries=1))
    return subnets_module.converge(task, client)


def stored(ec2, vpc_id: str) -> dict[str, dict]:
    found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    return {subnet["CidrBlock"]: subnet for subnet in found}


def tags_of(subnet: dict) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in subnet.get("Tags", [])}


def operations(requests) -> list[str]:
    return [request.action for request in requests]


def test_check_mode_plans_the_subnets_and_writes_nothing(aws, ec2, vpc_id) -> None:
    with aws.recording_requests() as requests:
        result = converge(ec2, vpc_id, declared(), check=True)
    assert result["changed"] is True and [entry["action"] for entry in result["results"]] == ["created"] * 2
    assert result["results"][0]["subnet"] == {} and result["results"][0]["diff"]["after"]["map_public"] is True
    assert writes(requests) == [] and operations(requests) == ["DescribeSubnets"]
    assert stored(ec2, vpc_id) == {}


def test_converged_subnets_are_one_read_and_a_changed_one_is_the_only_write(aws, ec2, vpc_id) -> None:
    first = converge(ec2, vpc_id, declared())
    assert [entry["action"] for entry in first["results"]] == ["created"] * 2
    found = stored(ec2, vpc_id)
    public, private = found["10.40.0.0/24"], found["10.40.10.0/24"]
    assert public["MapPublicIpOnLaunch"] is True and private["MapPublicIpOnLaunch"] is False
    assert public["AvailabilityZone"] == "ap-northeast-1a" and tags_of(private) == {**TAGS, "Name": "private-c"}
    assert [entry["subnet"]["id"] for entry in first["results"]] == [public["SubnetId"], private["SubnetId"]]

    with aws.recording_requests() as requests:
        again = converge(ec2, vpc_id, declared())
    assert again["changed"] is False and operations(requests) == ["DescribeSubnets"]
    assert again["results"][1]["subnet"]["subnet_arn"] == private["SubnetArn"]

    # By hand, as test_drift.py does: the private subnet hands out public addresses, and a tag more.
    ec2.modify_subnet_attribute(SubnetId=private["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    ec2.create_tags(Resources=[private["SubnetId"]], Tags=[{"Key": "Owner", "Value": "someone"}])
    with aws.recording_requests() as requests:
        planned = converge(ec2, vpc_id, declared(), check=True)
    assert writes(requests) == []
    assert [entry["changed"] for entry in planned["results"]] == [False, True]
    assert planned["results"][1]["diff"] == {
        "before": {"map_public": True, "tags": {**TAGS, "Name": "private-c", "Owner": "someone"}},
        "after": {"map_public": False, "tags": {**TAGS, "Name": "private-c"}},
    }

    with aws.recording_requests() as requests:
        fixed = converge(ec2, vpc_id, declared())
    assert fixed["changed"] is True
    assert operations(requests) == ["DescribeSubnets", "ModifySubnetAttribute", "DeleteTags"]
    private = stored(ec2, vpc_id)["10.40.10.0/24"]
    assert private["MapPublicIpOnLaunch"] is False and tags_of(private) == {**TAGS, "Name": "private-c"}
    assert converge(ec2, vpc_id, declared())["changed"] is False


def test_an_existing_subnet_keeps_its_zone_and_without_purge_keeps_other_tags(aws, ec2, vpc_id) -> None:
    converge(ec2, vpc_id, declared())
    ec2.create_tags(Resources=[stored(ec2, vpc_id)["10.40.0.0/24"]["SubnetId"]], Tags=[{"Key": "Owner", "Value": "x"}])
    moved = declared()
    moved[0]["az"] = "ap-northeast-1d"
    assert converge(ec2, vpc_id, moved, purge_tags=False)["changed"] is False
    assert stored(ec2, vpc_id)["10.40.0.0/24"]["AvailabilityZone"] == "ap-northeast-1a"


def test_a_cidr_declared_twice_stops_before_any_request(aws, ec2, vpc_id) -> None:
    with aws.recording_requests() as requests, pytest.raises(ModuleFailed, match=r"10\.40\.0\.0/24"):
        converge(ec2, vpc_id, [declared()[0], declared()[0]])
    assert requests == []


def test_known_subnets_are_compared_without_a_read(aws, ec2, vpc_id) -> None:
    """What ec2_subnet_zones read this run (its `subnets`) is the same comparison with no request; a subnet
    of another VPC among them is not this VPC's."""
    converge(ec2, vpc_id, declared())
    private = stored(ec2, vpc_id)["10.40.10.0/24"]
    ec2.modify_subnet_attribute(SubnetId=private["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    other_vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]  # VPCs may overlap
    ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.40.0.0/24")  # the same CIDR, elsewhere
    from ansible.module_utils.ec2_state import vpc_subnets  # the read ec2_subnet_zones returns as `subnets`

    client = RetryingBotoClientWrapper(ec2, AWSRetry.jittered_backoff(retries=1))
    known = vpc_subnets(client, vpc_id) + vpc_subnets(client, other_vpc)

    with aws.recording_requests() as requests:
        planned = converge(ec2, vpc_id, declared(), check=True, known_subnets=known)
    assert requests == [], [str(request) for request in requests]
    assert planned == converge(ec2, vpc_id, declared(), check=True)
    assert [entry["action"] for entry in planned["results"]] == ["unchanged", "updated"]
    assert planned["results"][0]["subnet"]["vpc_id"] == vpc_id
