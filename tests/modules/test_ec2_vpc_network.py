"""library/ec2_vpc_network.py against the moto server: the VPC found with one DescribeVpcs and its two DNS
attributes read side by side (no DescribeTags, no waiter polls), a write only where it differs, none
in check mode, and ec2_vpc_net's result shape for the drift report. The whole role runs it in
tests/test_provision.py and tests/test_drift.py."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from tests.support.library_code import TaskModule, load_library_module
from tests.support.requests import writes

vpc_module = load_library_module("ec2_vpc_network")
TAGS = {"Project": "mensetsu", "Environment": "test"}
READS = ["DescribeVpcAttribute", "DescribeVpcAttribute", "DescribeVpcs"]


@pytest.fixture
def ec2(boto):
    return boto("ec2")


def converge(ec2, check: bool = False, **params: Any) -> dict[str, Any]:
    task = TaskModule(
        {
            "name": "t-vpc",
            "cidr_block": "10.43.0.0/16",
            "dns_support": True,
            "dns_hostnames": True,
            "tags": TAGS,
            "wait_timeout": 60,
            **params,
        },
        check_mode=check,
    )
    return vpc_module.converge(task, RetryingBotoClientWrapper(ec2, AWSRetry.jittered_backoff(retries=1)))


def operations(requests) -> list[str]:
    return sorted(request.action for request in requests)


def stored(ec2) -> list[dict]:
    return ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["t-vpc"]}])["Vpcs"]


def test_check_mode_plans_the_vpc_and_writes_nothing(aws, ec2) -> None:
    with aws.recording_requests() as requests:
        result = converge(ec2, check=True)
    assert writes(requests) == [] and operations(requests) == ["DescribeVpcs"]
    assert result["changed"] is True and "id" not in result["vpc"] and result["drift_kind"] == "ec2_vpc_net"
    assert result["diff"]["after"]["tags"] == {**TAGS, "Name": "t-vpc"} and stored(ec2) == []


def test_a_converged_vpc_is_three_reads_and_drift_is_planned_then_fixed(aws, ec2) -> None:
    first = converge(ec2)
    [vpc] = stored(ec2)
    assert first["vpc"]["id"] == vpc["VpcId"] and first["changed"] is True
    hostnames = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")
    assert hostnames["EnableDnsHostnames"]["Value"] is True
    assert {t["Key"]: t["Value"] for t in vpc["Tags"]} == {**TAGS, "Name": "t-vpc"}

    with aws.recording_requests() as requests:
        again = converge(ec2)
    assert again["changed"] is False and operations(requests) == READS and again["vpc"]["id"] == vpc["VpcId"]

    # By hand, as tests/test_drift.py does: the hostnames turned off, a tag added.
    ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": False})
    ec2.create_tags(Resources=[vpc["VpcId"]], Tags=[{"Key": "Owner", "Value": "someone"}])
    with aws.recording_requests() as requests:
        planned = converge(ec2, check=True)
    assert writes(requests) == [] and operations(requests) == READS
    assert planned["diff"] == {
        "before": {"dns_hostnames": False, "tags": {**TAGS, "Name": "t-vpc", "Owner": "someone"}},
        "after": {"dns_hostnames": True, "tags": {**TAGS, "Name": "t-vpc"}},
    }
    with aws.recording_requests() as requests:
        assert converge(ec2)["changed"] is True
    assert operations(requests) == sorted([*READS, "ModifyVpcAttribute", "DeleteTags"])
    assert converge(ec2)["changed"] is False and len(stored(ec2)) == 1
