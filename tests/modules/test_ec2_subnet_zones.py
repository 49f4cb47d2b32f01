"""library/ec2_subnet_zones.py's choice, fed the answers AWS gives an account whose first zone does not
offer the instance type (as some ap-northeast-1 accounts see t3 and t4g). The whole role runs against
the emulator with such an answer in tests/test_later_runs.py."""

from __future__ import annotations

import pytest

from tests.support.library_code import load_library_module

ZONES = ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
GROUPS = [["10.30.0.0/24", "10.30.10.0/24"], ["10.30.1.0/24", "10.30.11.0/24"]]


def load_module():
    return load_library_module("ec2_subnet_zones")


def offerings(instance_type: str, zones: list[str]) -> list[dict]:
    """DescribeInstanceTypeOfferings(LocationType=availability-zone)'s InstanceTypeOfferings."""
    return [{"InstanceType": instance_type, "LocationType": "availability-zone", "Location": zone} for zone in zones]


def test_a_zone_without_the_instance_type_is_skipped() -> None:
    zones, warnings = load_module().choose_zones(
        ZONES, offerings("t3.medium", ZONES[1:]), ["t3.medium"], existing={}, subnet_groups=GROUPS
    )
    assert zones == ["ap-northeast-1c", "ap-northeast-1d"] and warnings == []


def test_every_type_must_be_offered() -> None:
    answer = offerings("t3.medium", ZONES) + offerings("t4g.medium", ["ap-northeast-1a", "ap-northeast-1d"])
    zones, _ = load_module().choose_zones(ZONES, answer, ["t3.medium", "t4g.medium"], {}, GROUPS)
    assert zones == ["ap-northeast-1a", "ap-northeast-1d"]


def test_existing_subnets_keep_their_zones_and_the_other_group_avoids_them() -> None:
    existing = {"10.30.1.0/24": "ap-northeast-1a"}  # made before the type left that zone
    zones, warnings = load_module().choose_zones(
        ZONES, offerings("t3.medium", ZONES[1:]), ["t3.medium"], existing, GROUPS
    )
    assert zones == ["ap-northeast-1c", "ap-northeast-1a"]
    assert warnings == [
        "subnet 10.30.1.0/24 is in ap-northeast-1a, which does not offer t3.medium; it stays (a subnet never moves)"
    ]


def test_too_few_zones_stop_with_the_instance_type_named() -> None:
    module = load_module()
    with pytest.raises(module.NotEnoughZones, match=r"offer t3\.large; offered in ap-northeast-1d of"):
        module.choose_zones(ZONES, offerings("t3.large", ["ap-northeast-1d"]), ["t3.large"], {}, GROUPS)
