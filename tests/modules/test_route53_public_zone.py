"""library/route53_public_zone.py against the moto server: the zone found with one ListHostedZonesByName,
its name servers and tags read side by side, a write only where the comment or the tags differ, none in
check mode; a private zone of the same name is not it, and two public ones stop the module. The whole
role runs it in tests/test_provision.py (the name servers feed the delegation check)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

zone_module = load_library_module("route53_public_zone")
TAGS = {"Project": "mensetsu", "Environment": "test"}
NAME = "zone-test.mensetsu.example.com"
COMMENT = f"{NAME} (managed by ansible)"


@pytest.fixture
def route53(boto):
    return boto("route53", "us-east-1")


def params(**changes: Any) -> dict[str, Any]:
    return {"zone": NAME, "comment": COMMENT, "tags": TAGS, **changes}


def converge(route53, task_params: dict[str, Any], check: bool = False) -> dict[str, Any]:
    task = TaskModule(task_params, check_mode=check)
    return zone_module.converge(task, RetryingBotoClientWrapper(route53, AWSRetry.jittered_backoff(retries=1)))


def operations(requests) -> list[str]:
    return sorted(request.action or request.method for request in requests)


def test_check_mode_plans_the_zone_and_writes_nothing(aws, route53) -> None:
    with aws.recording_requests() as requests:
        result = converge(route53, params(), check=True)
    assert writes(requests) == [] and len(requests) == 1
    assert result["changed"] is True and result["zone_id"] == "" and result["name_servers"] == []
    assert result["diff"]["after"] == {"tags": TAGS, "comment": COMMENT}
    assert [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == f"{NAME}."] == []


def test_a_converged_zone_is_three_reads_in_two_round_trips_with_its_name_servers(aws, route53) -> None:
    created = converge(route53, params())
    assert created["changed"] is True and created["zone_id"] and len(created["name_servers"]) == 4
    zone = route53.get_hosted_zone(Id=created["zone_id"])
    assert zone["HostedZone"]["Config"]["Comment"] == COMMENT
    assert zone["DelegationSet"]["NameServers"] == created["name_servers"]
    tags = route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=created["zone_id"])
    assert {t["Key"]: t["Value"] for t in tags["ResourceTagSet"]["Tags"]} == TAGS
    for check in (False, True):
        with aws.recording_requests() as requests:
            again = converge(route53, params(), check=check)
        assert writes(requests) == [] and len(requests) == 3, [str(r) for r in requests]
        assert again["changed"] is False and again["zone_id"] == created["zone_id"]
        assert again["name_servers"] == created["name_servers"] and again["name"] == f"{NAME}."


def test_a_changed_comment_or_tag_is_a_diff_in_check_mode_and_the_converge_puts_it_back(aws, route53) -> None:
    zone_id = converge(route53, params())["zone_id"]
    route53.update_hosted_zone_comment(Id=zone_id, Comment="edited by hand")
    route53.change_tags_for_resource(
        ResourceType="hostedzone",
        ResourceId=zone_id,
        AddTags=[{"Key": "Owner", "Value": "someone"}],
        RemoveTagKeys=["Environment"],
    )
    with aws.recording_requests() as requests:
        planned = converge(route53, params(), check=True)
    assert writes(requests) == []
    assert planned["diff"] == {
        "before": {"tags": {"Project": "mensetsu", "Owner": "someone"}, "comment": "edited by hand"},
        "after": {"tags": TAGS, "comment": COMMENT},
    }
    assert converge(route53, params())["changed"] is True
    with aws.recording_requests() as requests:
        assert converge(route53, params())["changed"] is False
    assert writes(requests) == []


def test_a_private_zone_of_the_name_is_not_it_and_two_public_ones_stop_the_module(aws, route53, boto) -> None:
    vpc = boto("ec2").create_vpc(CidrBlock="10.44.0.0/16")["Vpc"]["VpcId"]
    route53.create_hosted_zone(
        Name=NAME,
        CallerReference=str(uuid.uuid4()),
        HostedZoneConfig={"PrivateZone": True, "Comment": "private"},
        VPC={"VPCRegion": "ap-northeast-1", "VPCId": vpc},
    )
    assert converge(route53, params(), check=True)["zone_id"] == ""
    first = converge(route53, params())["zone_id"]
    route53.create_hosted_zone(Name=NAME, CallerReference=str(uuid.uuid4()))
    with (
        aws.recording_requests() as requests,
        pytest.raises(ModuleFailed, match=f"2 public hosted zones are named {NAME}"),
    ):
        converge(route53, params())
    assert writes(requests) == [] and first


def test_more_than_ten_tags_go_in_calls_of_ten(aws, route53) -> None:
    """AWS's ChangeTagsForResource takes at most 10 tags a call (moto takes more)."""
    many = {f"Key{number:02d}": str(number) for number in range(12)}
    with aws.recording_requests() as requests:
        zone_id = converge(route53, params(tags=many))["zone_id"]
    tagging = [r for r in writes(requests) if r.url.endswith(f"/tags/hostedzone/{zone_id}")]
    assert len(tagging) == 2, [str(r) for r in writes(requests)]
    tags = route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)["ResourceTagSet"]["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == many
