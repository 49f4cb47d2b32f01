"""library/cloudwatch_alarm_targets_info.py against the moto server (tests/support/module.py; the found
resources through a playbook run).

Nothing exists: every lookup is empty, not an error (the alarms wait for their resources). Then
the resources exist, with a decoy of each kind beside them: the module returns exactly the
declared ones, reading each kind once, side by side, and writing nothing. A topic, a load balancer
or a replication group it was not asked about is never read.
"""

from __future__ import annotations

from collections import Counter

from tests.support.library_code import load_library_module
from tests.support.module import play_module, run_module
from tests.support.requests import writes

ONE_ATTEMPT = {"AWS_MAX_ATTEMPTS": "1"}
REGION = "ap-northeast-1"
ACCOUNT = "123456789012"  # moto's
TAGS = {"Project": "mensetsu", "Environment": "test", "Role": "app"}
TARGETS = {
    "topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:mensetsu-test-alerts",
    "load_balancer_name": "mensetsu-test-lb",
    "target_group_name": "mensetsu-test-api",
    "instance_tags": TAGS,
    "db_instance_identifier": "mensetsu-test-postgres",
    "cache_replication_group_id": "mensetsu-test-redis",
}
MODULE = "cloudwatch_alarm_targets_info"


def make_platform(boto) -> dict:
    """The declared resources and a decoy of each kind; the ids the module must return."""
    ec2, elbv2 = boto("ec2"), boto("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for cidr, zone in (("10.40.0.0/24", f"{REGION}a"), ("10.40.1.0/24", f"{REGION}c"))
    ]
    balancers = {
        name: elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        for name in ("mensetsu-test-lb", "mensetsu-other-lb")
    }
    groups = {
        name: elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8000, VpcId=vpc)["TargetGroups"][0][
            "TargetGroupArn"
        ]
        for name in ("mensetsu-test-api", "mensetsu-other-api")
    }
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def launch(tags: dict[str, str], count: int) -> list[str]:
        instances = ec2.run_instances(
            ImageId=image,
            MinCount=count,
            MaxCount=count,
            SubnetId=subnets[0],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        )["Instances"]
        return [instance["InstanceId"] for instance in instances]

    app = launch(TAGS, 2)
    launch({**TAGS, "Environment": "other"}, 1)
    ec2.terminate_instances(InstanceIds=[launch(TAGS, 1)[0]])  # terminated: no alarm
    rds = boto("rds")
    for name in ("mensetsu-test-postgres", "mensetsu-other-postgres"):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            DBInstanceClass="db.t4g.micro",
            AllocatedStorage=20,
            MasterUsername="app",
            MasterUserPassword="not-a-real-password-1",
        )
    elasticache = boto("elasticache")
    # moto makes one member cluster whatever NumCacheClusters says (docs/emulator.md); AWS's answer
    # with two members is fed by the Stubber test below.
    for name, clusters in (("mensetsu-test-redis", 2), ("mensetsu-other-redis", 1)):
        elasticache.create_replication_group(
            ReplicationGroupId=name,
            ReplicationGroupDescription=name,
            Engine="redis",
            CacheNodeType="cache.t4g.micro",
            NumCacheClusters=clusters,
        )
    sns = boto("sns")
    sns.create_topic(Name="mensetsu-test-alerts")
    sns.create_topic(Name="mensetsu-other-alerts")
    members = elasticache.describe_replication_groups(ReplicationGroupId="mensetsu-test-redis")["ReplicationGroups"][0][
        "MemberClusters"
    ]
    return {
        "load_balancer_arn": balancers["mensetsu-test-lb"],
        "target_group_arn": groups["mensetsu-test-api"],
        "instance_ids": sorted(app),
        "db_instance_identifier": "mensetsu-test-postgres",
        "cache_cluster_ids": sorted(members),
        "topic_exists": True,
    }


def test_nothing_exists_yet_and_every_lookup_is_empty(aws) -> None:
    with aws.recording_requests() as requests:
        found = run_module(MODULE, TARGETS, env=ONE_ATTEMPT)
    assert found["changed"] is False
    assert (
        found["load_balancer_arn"],
        found["target_group_arn"],
        found["instance_ids"],
        found["db_instance_identifier"],
        found["cache_cluster_ids"],
        found["topic_exists"],
    ) == ("", "", [], "", [], False)
    assert writes(requests) == [], [str(request) for request in writes(requests)]


def test_the_declared_resources_are_found_each_kind_read_once_and_nothing_written(aws, boto) -> None:
    expected = make_platform(boto)
    assert expected["cache_cluster_ids"] == ["mensetsu-test-redis-001"], expected
    with aws.recording_requests() as requests:
        found = play_module(MODULE, TARGETS, env=ONE_ATTEMPT)  # as a playbook's task runs it
    assert {key: found[key] for key in expected} == expected
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert Counter(request.action for request in requests) == Counter(
        {
            "DescribeLoadBalancers": 1,
            "DescribeTargetGroups": 1,
            "DescribeInstances": 1,
            "DescribeDBInstances": 1,
            "DescribeReplicationGroups": 1,
            "GetTopicAttributes": 1,
        }
    ), [str(request) for request in requests]


def test_what_the_run_already_knows_is_returned_as_given_and_not_read(aws, boto) -> None:
    """provision.yml passes what the compute and data roles found (aws_monitoring_known_targets):
    those kinds cost no request; the others are still read. An empty answer is an answer."""
    expected = make_platform(boto)
    known = {
        "load_balancer_arn": expected["load_balancer_arn"],
        "target_group_arn": expected["target_group_arn"],
        "instance_ids": list(reversed(expected["instance_ids"])),
        "db_instance_identifier": "",
    }
    with aws.recording_requests() as requests:
        found = run_module(MODULE, dict(TARGETS, known=known), env=ONE_ATTEMPT)
    assert sorted(request.action for request in requests) == ["DescribeReplicationGroups", "GetTopicAttributes"]
    assert found["instance_ids"] == expected["instance_ids"]  # sorted, as a read returns them
    assert found["db_instance_identifier"] == ""
    assert found["cache_cluster_ids"] == expected["cache_cluster_ids"]
    failed = run_module(MODULE, dict(TARGETS, known={"load_balancer": "x"}), env=ONE_ATTEMPT, failures=1)
    assert "known: load_balancer is not a result of this module" in failed["msg"]


def test_every_member_cluster_of_the_group_is_returned_as_aws_answers() -> None:
    """AWS's answer (botocore's Stubber, the service model's shapes): a group of a primary and a
    replica lists both member clusters, each a cluster of one node (0001) that gets its alarms."""
    import boto3
    from botocore.stub import Stubber

    targets = load_library_module("cloudwatch_alarm_targets_info")
    from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

    raw = boto3.client("elasticache", region_name=REGION, aws_access_key_id="stubbed", aws_secret_access_key="stubbed")
    client = RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1))
    with Stubber(raw) as stubber:
        stubber.add_response(
            "describe_replication_groups",
            {
                "ReplicationGroups": [
                    {
                        "ReplicationGroupId": "mensetsu-test-redis",
                        "Status": "available",
                        "MemberClusters": ["mensetsu-test-redis-002", "mensetsu-test-redis-001"],
                    }
                ]
            },
            {"ReplicationGroupId": "mensetsu-test-redis"},
        )
        stubber.add_client_error(
            "describe_replication_groups",
            "ReplicationGroupNotFoundFault",
            "ReplicationGroup mensetsu-gone-redis not found.",
            http_status_code=404,
        )
        assert targets.read_cache(client, "mensetsu-test-redis") == [
            "mensetsu-test-redis-001",
            "mensetsu-test-redis-002",
        ]
        assert targets.read_cache(client, "mensetsu-gone-redis") == []
        stubber.assert_no_pending_responses()
