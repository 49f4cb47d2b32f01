"""library/elasticache_replication_group.py against the moto server, run as a role's task runs it
(tests/support/module.py; the re-run with another token through the real playbook, whose output must
not show a token).

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run (unchanged, not one
mutating request, even with another AUTH token), update (check mode first), token rotation, delete
(check mode first). The cache subnet group comes from community.aws.elasticache_subnet_group in the
same playbook (before the module, run the same way), which shows that module is idempotent and honours
check mode against moto.
"""

from __future__ import annotations

import json

import pytest

from tests.support import module
from tests.support.library_code import TaskModule, load_library_module
from tests.support.playbook import JSON_OUTPUT, PlaybookRun, run_playbook, task_result_json
from tests.support.requests import writes

PLAYBOOK = "tests/modules/playbooks/elasticache_replication_group.yml"
GROUP_ID = "mensetsu-test-redis"
SUBNET_GROUP = "mensetsu-test-cache"
TOKEN = "test-only-token-0123456789abcdef"  # a fixture value for the emulator, not a secret
OTHER_TOKEN = "test-only-token-fedcba9876543210"


def run_module(erg: dict, check: bool = False, subnet_ids: list[str] | None = None) -> dict:
    """The playbook's two tasks, each as its task runs it: the subnet group (when `subnet_ids`), then the
    module with the options `erg`. The module's result, the subnet group's as `subnet_group_task`."""
    subnet_group_task = {"changed": False, "skipped": True}
    if subnet_ids is not None:
        subnet_group_task = module.run_module(
            "community.aws.elasticache_subnet_group",
            {"name": SUBNET_GROUP, "description": f"{SUBNET_GROUP} private subnets", "subnets": subnet_ids},
            check=check,
        )
    result = module.run_module(
        "elasticache_replication_group",
        {"replication_group_id": GROUP_ID, **erg},
        check=check,
        no_log="auth_token" in erg,
    )
    for secret in (TOKEN, OTHER_TOKEN):
        assert secret not in json.dumps(result), "the module returned the AUTH token"
    result["subnet_group_task"] = subnet_group_task
    return result


def changed_tasks(result: dict) -> int:
    """What the play's recap counts as changed: the subnet group's task and the module's."""
    return sum(task["changed"] is True for task in (result, result["subnet_group_task"]))


def play(erg: dict, check: bool = False, subnet_ids: list[str] | None = None) -> dict:
    """Run the playbook; return the module's registered result with the play's recap as `stats`."""
    extra_vars: dict = {"erg": {"replication_group_id": GROUP_ID, **erg}}
    if subnet_ids is not None:
        extra_vars["erg_subnet_ids"] = subnet_ids
    run = run_playbook(PLAYBOOK, extra_vars=extra_vars, check=check, diff=True, env=JSON_OUTPUT)
    result = task_results(run)
    for secret in (TOKEN, OTHER_TOKEN):
        assert secret not in run.output, "the AUTH token was printed"
    return result


def task_results(run: PlaybookRun) -> dict:
    result = task_result_json(run, task=-1, register="erg_result")
    result["subnet_group_task"] = task_result_json(run, task=0)
    return result


@pytest.fixture
def network(boto) -> dict:
    """A VPC with two private subnets and the cache's security group, as aws_network would leave them."""
    ec2 = boto("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for cidr, zone in (("10.20.10.0/24", "ap-northeast-1a"), ("10.20.11.0/24", "ap-northeast-1c"))
    ]
    cache_sg = ec2.create_security_group(GroupName="cache", Description="Redis from EC2", VpcId=vpc_id)["GroupId"]
    return {"vpc_id": vpc_id, "subnet_ids": subnets, "cache_sg": cache_sg}


def groups(elasticache) -> list[dict]:
    return elasticache.describe_replication_groups()["ReplicationGroups"]


def tags_of(elasticache, arn: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in elasticache.list_tags_for_resource(ResourceName=arn)["TagList"]}


def test_replication_group_lifecycle(aws, boto, network) -> None:
    elasticache = boto("elasticache")
    wanted = {
        "cache_node_type": "cache.t4g.micro",
        "engine_version": "7.1",
        "num_cache_clusters": 1,
        "cache_subnet_group_name": SUBNET_GROUP,
        "security_group_ids": [network["cache_sg"]],
        "auth_token": TOKEN,
        "snapshot_retention_limit": 1,
        "tags": {"Project": "mensetsu", "Environment": "test", "Owner": "platform"},
    }

    planned = run_module(wanted, check=True, subnet_ids=network["subnet_ids"])
    assert planned["changed"] is True
    assert planned["subnet_group_task"]["changed"] is True
    after = planned["diff"]["after"]
    assert after["transit_encryption_enabled"] is True and after["at_rest_encryption_enabled"] is True
    assert after["auth_token_enabled"] is True and "auth_token" not in after
    assert groups(elasticache) == [], "check mode created a replication group"
    assert elasticache.describe_cache_subnet_groups()["CacheSubnetGroups"] == [], "check mode created a subnet group"

    created = run_module(wanted, subnet_ids=network["subnet_ids"])
    assert created["changed"] is True and changed_tasks(created) == 2
    [group] = groups(elasticache)
    assert group["Status"] == "available"
    assert group["TransitEncryptionEnabled"] is True
    assert group["AtRestEncryptionEnabled"] is True
    assert group["AuthTokenEnabled"] is True
    assert group["CacheNodeType"] == "cache.t4g.micro"
    assert group["SnapshotRetentionLimit"] == 1
    assert tags_of(elasticache, group["ARN"]) == wanted["tags"]
    assert created["arn"] == group["ARN"] and created["status"] == "available"
    assert created["primary_endpoint"] == {
        "address": group["NodeGroups"][0]["PrimaryEndpoint"]["Address"],
        "port": 6379,
    }
    [subnet_group] = elasticache.describe_cache_subnet_groups()["CacheSubnetGroups"]
    assert {subnet["SubnetIdentifier"] for subnet in subnet_group["Subnets"]} == set(network["subnet_ids"])

    # AWS never returns the token: another token is not a change, and nothing is sent.
    with aws.recording_requests() as requests:
        again = play({**wanted, "auth_token": OTHER_TOKEN}, subnet_ids=network["subnet_ids"])
    assert again["stats"]["changed"] == 0, again
    assert writes(requests) == []
    # moto keeps no member clusters, so what AWS reports only there cannot be compared here.
    assert set(again["unverified_settings"]) <= {"engine_version", "security_group_ids", "cache_subnet_group_name"}

    with aws.recording_requests() as requests:
        checked = run_module(wanted, check=True, subnet_ids=network["subnet_ids"])
    assert changed_tasks(checked) == 0
    assert writes(requests) == []

    update = {
        **wanted,
        "cache_node_type": "cache.t4g.small",
        "snapshot_retention_limit": 7,
        "description": "mensetsu test cache",
        "tags": {"Project": "mensetsu", "Environment": "test", "CostCenter": "interview"},
    }
    planned_update = run_module(update, check=True)
    assert planned_update["changed"] is True
    assert planned_update["diff"]["before"]["cache_node_type"] == "cache.t4g.micro"
    assert planned_update["diff"]["after"]["cache_node_type"] == "cache.t4g.small"
    assert planned_update["diff"]["after"]["tags"] == update["tags"]
    [group] = groups(elasticache)
    assert group["CacheNodeType"] == "cache.t4g.micro", "check mode modified the group"
    assert tags_of(elasticache, group["ARN"]) == wanted["tags"], "check mode changed the tags"

    with aws.recording_requests() as requests:
        updated = run_module(update)
    assert updated["changed"] is True
    assert sorted(request.action for request in writes(requests)) == [
        "AddTagsToResource",
        "ModifyReplicationGroup",
        "RemoveTagsFromResource",
    ]
    [group] = groups(elasticache)
    assert group["CacheNodeType"] == "cache.t4g.small"
    assert group["SnapshotRetentionLimit"] == 7
    assert group["Description"] == "mensetsu test cache"
    assert tags_of(elasticache, group["ARN"]) == update["tags"]

    # Encryption at rest is fixed at creation: a different wish is a warning, never a change.
    with aws.recording_requests() as requests:
        unchanged = run_module({**update, "at_rest_encryption_enabled": False})
    assert unchanged["changed"] is False
    assert writes(requests) == []
    assert any("at_rest_encryption_enabled" in warning for warning in unchanged.get("warnings", []))

    with aws.recording_requests() as requests:
        rotated = run_module({"auth_token": OTHER_TOKEN, "auth_token_update_strategy": "rotate"})
    assert rotated["changed"] is True
    assert [request.action for request in writes(requests)] == ["ModifyReplicationGroup"]

    planned_delete = run_module({"state": "absent", "wait": False}, check=True)
    assert planned_delete["changed"] is True
    assert groups(elasticache)[0]["Status"] == "available", "check mode deleted the group"

    deleted = run_module({"state": "absent", "wait": False})
    assert deleted["changed"] is True
    # moto keeps a deleted group in "deleting" for ever; AWS removes it after a few minutes.
    assert groups(elasticache)[0]["Status"] == "deleting"

    with aws.recording_requests() as requests:
        gone = run_module({"state": "absent", "wait": False})
    assert gone["changed"] is False
    assert writes(requests) == []


def test_creation_needs_a_node_type(aws, boto) -> None:
    run = run_playbook(
        PLAYBOOK,
        extra_vars={"erg": {"replication_group_id": GROUP_ID, "num_cache_clusters": 1}},
        env=JSON_OUTPUT,
    )
    assert run.returncode != 0
    assert "cache_node_type is required to create a replication group" in run.output
    assert boto("elasticache").describe_replication_groups()["ReplicationGroups"] == []


# AWS keeps the engine version on the member clusters (moto keeps none, so the lifecycle above cannot
# compare it); these are the answers AWS gives for a group asked for with engine_version "7.1".
AWS_GROUP = {
    "ReplicationGroupId": GROUP_ID,
    "Description": GROUP_ID,
    "Status": "available",
    "MemberClusters": [f"{GROUP_ID}-001"],
    "NodeGroups": [{"NodeGroupId": "0001", "PrimaryEndpoint": {"Address": "master.example", "Port": 6379}}],
    "AutomaticFailover": "disabled",
    "MultiAZ": "disabled",
    "SnapshotRetentionLimit": 1,
    "CacheNodeType": "cache.t4g.micro",
    "TransitEncryptionEnabled": True,
    "AtRestEncryptionEnabled": True,
    "ClusterEnabled": False,
}


def aws_member(engine_version: str) -> dict:
    return {
        "CacheClusterId": f"{GROUP_ID}-001",
        "EngineVersion": engine_version,
        "CacheNodeType": "cache.t4g.micro",
        "SecurityGroups": [{"SecurityGroupId": "sg-0cache", "Status": "active"}],
        "PreferredMaintenanceWindow": "sun:19:00-sun:20:00",
        "CacheSubnetGroupName": SUBNET_GROUP,
    }


@pytest.mark.parametrize(
    ("running", "wanted", "modify"),
    [
        ("7.1.0", "7.1", None),  # what AWS reports right after creating "7.1"
        ("7.2.4", "7.1", None),  # after an automatic minor upgrade: AWS refuses to go back to 7.1
        ("7.1.0", "7", None),  # a major-only wish matches every minor
        ("7.0.7", "7.1", "7.1"),  # older than asked: an upgrade
        ("6.2.6", "7.1", "7.1"),  # another major version
    ],
)
def test_engine_version_is_compared_as_aws_upgrades_it(running: str, wanted: str, modify: str | None) -> None:
    code = load_library_module("elasticache_replication_group")
    module = TaskModule({"replication_group_id": GROUP_ID})
    current = code.current_settings(AWS_GROUP, aws_member(running))
    changes, unverified = code.plan_modifications(module, current, {"engine_version": wanted})
    assert unverified == []
    assert changes.get("engine_version") == modify
