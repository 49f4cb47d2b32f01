"""library/ec2_vpc_routing.py against the moto server: the internet gateway, the two route tables and the
S3 gateway endpoint read with three requests (no DescribeTags), a write only where one differs, none
in check mode, one result per resource (with its diff) for the drift report. The whole role runs it in
tests/test_provision.py and tests/test_drift.py."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

routing_module = load_library_module("ec2_vpc_routing")
TAGS = {"Project": "mensetsu", "Environment": "test"}
SERVICE = "com.amazonaws.ap-northeast-1.s3"
READS = ["DescribeInternetGateways", "DescribeRouteTables", "DescribeVpcEndpoints"]


@pytest.fixture
def ec2(boto):
    return boto("ec2")


@pytest.fixture
def network(ec2) -> dict[str, str]:
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.0.0/24")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.10.0/24")["Subnet"]["SubnetId"]
    return {"vpc": vpc, "public": public, "private": private}


def params(network: dict[str, str]) -> dict[str, Any]:
    return {
        "vpc_id": network["vpc"],
        "internet_gateway_tags": {**TAGS, "Name": "t-igw"},
        "route_tables": [
            {"tags": {**TAGS, "Name": "t-public"}, "subnets": [network["public"]], "internet_route": True},
            {"tags": {**TAGS, "Name": "t-private"}, "subnets": [network["private"]], "internet_route": False},
        ],
        "endpoint": {"service": SERVICE, "tags": {**TAGS, "Name": "t-s3"}},
        "wait_timeout": 60,
    }


def converge(ec2, task_params: dict[str, Any], check: bool = False) -> dict[str, Any]:
    task = TaskModule(task_params, check_mode=check)
    return routing_module.converge(task, RetryingBotoClientWrapper(ec2, AWSRetry.jittered_backoff(retries=1)))


def tables(ec2, vpc: str) -> dict[str, dict]:
    found = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    return {tag["Value"]: table for table in found for tag in table.get("Tags", []) if tag["Key"] == "Name"}


def operations(requests) -> list[str]:
    return sorted(request.action for request in requests)


def test_check_mode_plans_everything_and_writes_nothing(aws, ec2, network) -> None:
    with aws.recording_requests() as requests:
        result = converge(ec2, params(network), check=True)
    assert writes(requests) == [] and operations(requests) == READS
    assert result["changed"] is True
    assert [(entry["resource"], entry["action"]) for entry in result["results"]] == [
        ("internet_gateway", "created"),
        ("route_table", "created"),
        ("route_table", "created"),
        ("endpoint", "created"),
    ]
    assert result["results"][1]["diff"]["after"]["routes"] == {"0.0.0.0/0": routing_module.PLANNED_IGW}
    assert tables(ec2, network["vpc"]) == {}


def test_converged_routing_is_three_reads_and_drift_is_planned_then_fixed(aws, ec2, network) -> None:
    first = converge(ec2, params(network))
    igw = first["internet_gateway_id"]
    found = tables(ec2, network["vpc"])
    public, private = found["t-public"], found["t-private"]
    assert first["route_table_ids"] == [public["RouteTableId"], private["RouteTableId"]]
    assert {r.get("DestinationCidrBlock"): r.get("GatewayId") for r in public["Routes"]}["0.0.0.0/0"] == igw
    assert [a["SubnetId"] for a in private["Associations"] if a.get("SubnetId")] == [network["private"]]
    attached = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [network["vpc"]]}])
    assert [g["InternetGatewayId"] for g in attached["InternetGateways"]] == [igw]
    endpoint = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network["vpc"]]}])["VpcEndpoints"]
    assert len(endpoint) == 1 and set(endpoint[0]["RouteTableIds"]) == set(first["route_table_ids"])
    endpoint_id = endpoint[0]["VpcEndpointId"]

    with aws.recording_requests() as requests:
        again = converge(ec2, params(network))
    assert again["changed"] is False and operations(requests) == READS
    assert again["results"][0]["gateway_id"] == igw and again["results"][3]["result"]["vpc_endpoint_id"] == endpoint_id

    # By hand, as tests/test_drift.py does: the public table's internet route deleted, the gateway
    # and the endpoint renamed, a route added to the private table, the private subnet moved to the public table.
    ec2.delete_route(RouteTableId=public["RouteTableId"], DestinationCidrBlock="0.0.0.0/0")
    ec2.create_tags(Resources=[igw, endpoint_id], Tags=[{"Key": "Name", "Value": "renamed-by-hand"}])
    ec2.create_route(RouteTableId=private["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    association = next(a for a in private["Associations"] if a.get("SubnetId") == network["private"])
    ec2.replace_route_table_association(
        AssociationId=association["RouteTableAssociationId"], RouteTableId=public["RouteTableId"]
    )
    with aws.recording_requests() as requests:
        planned = converge(ec2, params(network), check=True)
    assert writes(requests) == [] and operations(requests) == READS
    assert [entry["changed"] for entry in planned["results"]] == [True, True, True, True]
    assert planned["results"][0]["diff"]["before"]["tags"]["Name"] == "renamed-by-hand"
    assert planned["results"][1]["diff"] == {
        "before": {"routes": {}, "subnets": sorted([network["public"], network["private"]])},
        "after": {"routes": {"0.0.0.0/0": igw}, "subnets": [network["public"]]},
    }
    assert planned["results"][2]["diff"] == {
        "before": {"routes": {"0.0.0.0/0": igw}, "subnets": []},
        "after": {"routes": {}, "subnets": [network["private"]]},
    }
    assert planned["results"][2]["route_table"]["id"] == private["RouteTableId"]

    with aws.recording_requests() as requests:
        fixed = converge(ec2, params(network))
    assert fixed["changed"] is True
    assert operations(requests) == sorted(
        [
            *READS,
            "CreateTags",
            "CreateRoute",
            "DeleteRoute",
            "DisassociateRouteTable",
            "AssociateRouteTable",
            "CreateTags",
        ]
    )
    found = tables(ec2, network["vpc"])
    assert [a["SubnetId"] for a in found["t-private"]["Associations"] if a.get("SubnetId")] == [network["private"]]
    assert [a["SubnetId"] for a in found["t-public"]["Associations"] if a.get("SubnetId")] == [network["public"]]
    assert converge(ec2, params(network))["changed"] is False


def test_an_endpoint_missing_a_route_table_is_modified_not_recreated(aws, ec2, network) -> None:
    first = converge(ec2, params(network))
    endpoint = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network["vpc"]]}])["VpcEndpoints"][0]
    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint["VpcEndpointId"], RemoveRouteTableIds=[first["route_table_ids"][1]])
    with aws.recording_requests() as requests:
        fixed = converge(ec2, params(network))
    assert fixed["results"][3]["action"] == "updated"
    assert operations(requests) == sorted([*READS, "ModifyVpcEndpoint"])
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network["vpc"]]}])["VpcEndpoints"]
    assert len(endpoints) == 1 and set(endpoints[0]["RouteTableIds"]) == set(first["route_table_ids"])


def test_a_route_table_without_a_name_stops_before_any_write(aws, ec2, network) -> None:
    task_params = params(network)
    task_params["route_tables"][0]["tags"] = dict(TAGS)
    with aws.recording_requests() as requests, pytest.raises(ModuleFailed, match="Name tag"):
        converge(ec2, task_params)
    assert writes(requests) == []


def test_a_subnet_associated_with_another_table_is_moved_with_one_request(aws, ec2, network) -> None:
    other = ec2.create_route_table(VpcId=network["vpc"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=other, SubnetId=network["private"])
    with aws.recording_requests() as requests:
        converge(ec2, params(network))
    assert operations(requests).count("ReplaceRouteTableAssociation") == 1
    assert "DisassociateRouteTable" not in operations(requests)
    private = tables(ec2, network["vpc"])["t-private"]
    assert [a["SubnetId"] for a in private["Associations"] if a.get("SubnetId")] == [network["private"]]
