"""Modules whose no-op reads go out together (issue 18): what each sends on a run that changes nothing,
through bench/latency_proxy.py, which counts the requests and the most in flight at once.

A read that needs only the resource's name, or an ARN the module can build from the account it is
given (O(account_id)), is sent beside the read that finds the resource, not after it: on the real API
each round trip saved is tens of ms from a laptop, 100 ms and more from a distant runner. The
resource's absence stays an answer, not a failure (a tag read for a group that does not exist yet).
The requests go to moto; the 300 ms delay makes reads sent together overlap even when a loaded
machine starts a thread late.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.exceptions import ClientError

from tests.support import module
from tests.support.library_code import TaskModule, load_library_module
from tests.support.moto import MotoServer
from tests.support.requests import writes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from latency_proxy import LatencyProxy

ACCOUNT = "123456789012"  # moto's account
REGION = "ap-northeast-1"
TAGS = {"Project": "mensetsu", "Environment": "test"}
DELAY_MS = 300


def no_op(aws: MotoServer, name: str, args: dict, check: bool = False, in_flight: int = 0):
    """The module's result and the proxy's counts for a run of `name` through the latency proxy.

    `in_flight`: the reads the test expects in flight at once. Threads started together can still
    start one after another's delay is over on a machine loaded by the rest of the suite (two cores,
    molecule's hosts, other workers: a fresh-clone CI of 1986604 saw 3 of 5 once), so a run that
    shows fewer is measured once more before the test judges the overlap."""
    result, counts = _no_op(aws, name, args, check)
    if counts.max_in_flight < in_flight:
        result, counts = _no_op(aws, name, args, check)
    return result, counts


def _no_op(aws: MotoServer, name: str, args: dict, check: bool):
    with LatencyProxy(aws.endpoint, delay_ms=DELAY_MS) as proxy, aws.recording_requests() as requests:
        result = module.run_module(
            name, args, check=check, env={"AWS_ENDPOINT_URL": proxy.endpoint, "AWS_MAX_ATTEMPTS": "1"}
        )
        counts = proxy.counts()
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    return result, counts


def test_log_group_reads_the_group_and_its_tags_together(aws) -> None:
    args = {"name": "/mensetsu/test/side-by-side", "retention_days": 90, "tags": TAGS, "account_id": ACCOUNT}
    planned, counts = no_op(aws, "log_group", args, check=True, in_flight=2)
    assert planned["changed"] is True, "a group that does not exist (its tags: not found) is to be made"
    assert counts.max_in_flight == 2, counts.table()

    assert module.run_module("log_group", args)["changed"] is True
    again, counts = no_op(aws, "log_group", args, in_flight=2)
    assert again["changed"] is False, again
    assert again["log_group"]["tags"] == TAGS
    # DescribeLogGroups and ListTagsForResource (by the ARN the group has), side by side.
    assert (counts.requests, counts.max_in_flight) == (2, 2), counts.table()

    # Without the account: the tags after the group, by the ARN DescribeLogGroups gave.
    alone, counts = no_op(aws, "log_group", {**args, "account_id": None})
    assert (alone["changed"], alone["log_group"]) == (False, again["log_group"])
    assert (counts.requests, counts.max_in_flight) == (2, 1), counts.table()


# The RDS parameter group the tests below make (purge_tags is the module's default, spelled for the
# in-process calls of its functions).
PARAMETER_GROUP = {
    "name": "mensetsu-test-side-by-side",
    "family": "postgres16",
    "parameters": {"rds.force_ssl": "1"},
    "tags": TAGS,
    "purge_tags": True,
    "account_id": ACCOUNT,
}


def test_rds_parameter_group_reads_group_parameters_and_tags_together(aws) -> None:
    args = PARAMETER_GROUP
    planned, _ = no_op(aws, "rds_parameter_group", args, check=True)
    assert planned["changed"] is True, "a group that does not exist (its parameters: not found) is to be made"

    assert module.run_module("rds_parameter_group", args)["changed"] is True
    again, counts = no_op(aws, "rds_parameter_group", args, in_flight=3)
    assert again["changed"] is False, again
    # DescribeDBParameterGroups, DescribeDBParameters (by name) and ListTagsForResource (by ARN) at once.
    assert (counts.requests, counts.max_in_flight) == (3, 3), counts.table()

    # A tag changed out of band is still seen, in check mode, through the tags read beside the group.
    rds = aws.client("rds")
    arn = rds.describe_db_parameter_groups(DBParameterGroupName=args["name"])["DBParameterGroups"][0][
        "DBParameterGroupArn"
    ]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "Owner", "Value": "someone"}])
    seen, _ = no_op(aws, "rds_parameter_group", args, check=True)
    assert seen["changed"] is True, seen


def test_cloudtrail_reads_the_trail_its_status_and_its_tags_together(aws, boto) -> None:
    boto("s3").create_bucket(
        Bucket="mensetsu-test-trail-logs", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    args = {
        "name": "mensetsu-test-side-trail",
        "s3_bucket_name": "mensetsu-test-trail-logs",
        "enable_log_file_validation": True,
        "tags": TAGS,
        "account_id": ACCOUNT,
    }
    assert module.run_module("cloudtrail_trail", args)["changed"] is True
    again, counts = no_op(aws, "cloudtrail_trail", args, in_flight=3)
    assert again["changed"] is False, again
    # DescribeTrails, GetTrailStatus and ListTags (by the ARN the trail has): one round trip.
    assert (counts.requests, counts.max_in_flight) == (3, 3), counts.table()


@pytest.mark.parametrize("with_notifications", [False, True])
def test_budget_and_its_notifications_are_read_together(aws, with_notifications: bool) -> None:
    args = {
        "name": "mensetsu-test-side-by-side",
        "amount": 30.0,
        "cost_filter_tags": TAGS,
        "account_id": ACCOUNT,
        "notifications": [{"type": "ACTUAL", "threshold": 80.0}] if with_notifications else None,
        "subscribers": [{"protocol": "email", "address": "ops@mensetsu.example.com"}] if with_notifications else None,
    }
    assert module.run_module("aws_budget", args)["changed"] is True
    again, counts = no_op(aws, "aws_budget", args, in_flight=2 + int(with_notifications))
    assert again["changed"] is False, again
    # DescribeBudget, DescribeNotificationsForBudget and, with notifications, the declared one's
    # subscribers, all side by side (the project's emulator answers the last as AWS does:
    # tests/support/moto_aws.py): one round trip.
    assert counts.operations["budgets:DescribeBudget"] == 1, counts.table()
    assert counts.operations["budgets:DescribeNotificationsForBudget"] == 1, counts.table()
    assert counts.operations["budgets:DescribeSubscribersForNotification"] == int(with_notifications), counts.table()
    assert counts.requests == 2 + int(with_notifications), counts.table()
    assert counts.max_in_flight == 2 + int(with_notifications), counts.table()


def test_elasticache_group_reads_its_member_and_tags_together(aws, boto) -> None:
    elasticache = boto("elasticache")
    elasticache.create_replication_group(
        ReplicationGroupId="mensetsu-test-side",
        ReplicationGroupDescription="side by side",
        CacheNodeType="cache.t4g.micro",
        Engine="redis",
        NumCacheClusters=1,
        Tags=[{"Key": key, "Value": value} for key, value in TAGS.items()],
    )
    args = {"replication_group_id": "mensetsu-test-side", "cache_node_type": "cache.t4g.micro", "tags": TAGS}
    result, counts = no_op(aws, "elasticache_replication_group", args, check=True, in_flight=2)
    # DescribeReplicationGroups, then its member cluster and its tags side by side.
    assert counts.operations["elasticache:DescribeReplicationGroups"] == 1, counts.table()
    assert counts.operations["elasticache:DescribeCacheClusters"] == 1, counts.table()
    assert counts.operations["elasticache:ListTagsForResource"] == 1, counts.table()
    assert counts.max_in_flight == 2, counts.table()
    # With the account: all three in one round trip (the tags by the ARN the group has, the member by
    # the name AWS gives the first one), and the same answer; on moto's group, whose listed member does
    # not exist (docs/emulator.md), that answer is taken, not asked for again.
    _, counts = no_op(aws, "elasticache_replication_group", {**args, "account_id": ACCOUNT}, check=True, in_flight=3)
    assert (counts.requests, counts.max_in_flight) == (3, 3), counts.table()
    # The member made as AWS has it.
    elasticache.create_cache_cluster(
        CacheClusterId="mensetsu-test-side-001",
        ReplicationGroupId="mensetsu-test-side",
        CacheNodeType="cache.t4g.micro",
        Engine="redis",
        NumCacheNodes=1,
    )
    result, _ = no_op(aws, "elasticache_replication_group", args, check=True)
    early, counts = no_op(
        aws, "elasticache_replication_group", {**args, "account_id": ACCOUNT}, check=True, in_flight=3
    )
    assert (counts.requests, counts.max_in_flight) == (3, 3), counts.table()
    assert early["changed"] is False and early["replication_group"] == result["replication_group"]


def test_drift_secrets_are_described_together(aws, boto) -> None:
    secretsmanager = boto("secretsmanager")
    names = [f"mensetsu/test/side-{number}" for number in range(3)]
    for name in names:
        secretsmanager.create_secret(Name=name, SecretString="x", Tags=[{"Key": "Project", "Value": "mensetsu"}])
    declared = [{"name": name, "tags": {"Project": "mensetsu"}} for name in names]
    result, counts = no_op(
        aws, "aws_drift_secrets", {"secrets": [*declared, {"name": "mensetsu/test/missing"}]}, in_flight=4
    )
    assert [item["secret_name"] for item in result["differences"]] == ["mensetsu/test/missing"], result
    assert (counts.requests, counts.max_in_flight) == (4, 4), counts.table()


def test_load_balancer_and_target_group_are_read_in_three_round_trips(aws, boto) -> None:
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=f"ap-northeast-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in ((1, "a"), (2, "c"))
    ]
    group = ec2.create_security_group(GroupName="side-alb", Description="side", VpcId=vpc)["GroupId"]
    certificate = boto("acm").request_certificate(DomainName="side.example.com", ValidationMethod="DNS")
    args = {
        "name": "mensetsu-test-side",
        "subnets": subnets,
        "security_groups": [group],
        "listeners": [{"protocol": "HTTPS", "port": 443, "certificate_arn": certificate["CertificateArn"]}],
        "target_group": {"name": "mensetsu-test-side", "protocol": "HTTP", "port": 8000, "vpc_id": vpc},
        "tags": TAGS,
    }
    assert module.run_module("elb_load_balancing", args)["changed"] is True
    result, counts = no_op(aws, "elb_load_balancing", args, check=True, in_flight=5)
    assert result["changed"] is False and result["dns_name"], result["diff"]
    # The balancer and the group by name side by side; then the balancer's attributes and listeners,
    # the group's attributes and targets and both resources' tags (one DescribeTags) side by side;
    # then the listener's rules.
    assert counts.operations["elasticloadbalancing:DescribeTags"] == 1, counts.table()
    assert (counts.requests, counts.max_in_flight) == (8, 5), counts.table()


def test_rds_parameter_group_reads_its_tags_again_when_the_early_read_fails(aws, boto) -> None:
    """AWS documents no error code of ListTagsForResource for a parameter group that does not exist:
    the tags read by the built ARN is only "not read" when it fails, and the group's own ARN is asked
    again once the group is found (an error there fails the task as before)."""
    rds_module = load_library_module("rds_parameter_group")
    args = PARAMETER_GROUP
    assert module.run_module("rds_parameter_group", args)["changed"] is True
    client = boto("rds")
    asked: list[str] = []

    def refuse_the_first(params: dict, **_: object) -> None:
        asked.append(params["ResourceName"])
        if len(asked) == 1:
            raise ClientError({"Error": {"Code": "SomeUndocumentedCode", "Message": "no"}}, "ListTagsForResource")

    client.meta.events.register("before-parameter-build.rds.ListTagsForResource", refuse_the_first)
    wrapped = RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1))
    task = TaskModule(args, check_mode=True)
    group, parameters, tags = rds_module.read_group(wrapped, task, args["name"])
    assert group is not None and parameters == {"rds.force_ssl": "1"} and tags is None
    assert rds_module.sync_tags(wrapped, task, group["DBParameterGroupArn"], tags) is False
    assert asked == [group["DBParameterGroupArn"]] * 2
