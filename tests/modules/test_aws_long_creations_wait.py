"""library/aws_long_creations_wait.py: the second half of the long creations (RDS, ElastiCache,
CloudFront), which roles/aws_data and roles/aws_edge start with wait: false.

Against moto (tests/support/module.py): what moto makes is ready at once, and the module returns
each resource's endpoint in the shapes the roles read, reading only. moto cannot show a creation in
progress for RDS or ElastiCache, so AWS's answers are fed through botocore's Stubber on the service
models' shapes: a resource Describe does not list yet right after its creation, then `creating`,
then `available`, is waited for; a status that can never become ready fails at once; a stopped
instance is settled.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from tests.support.library_code import load_library_module
from tests.support.module import play_module, run_module
from tests.support.requests import writes

REGION = "ap-northeast-1"
MODULE = "aws_long_creations_wait"


def make_servers(boto) -> None:
    boto("rds").create_db_instance(
        DBInstanceIdentifier="mensetsu-test-postgres",
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        MasterUsername="app",
        MasterUserPassword="not-a-secret-0",
    )
    boto("elasticache").create_replication_group(
        ReplicationGroupId="mensetsu-test-redis",
        ReplicationGroupDescription="test",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=1,
    )


def test_ready_servers_are_returned_with_their_endpoints_and_nothing_is_written(aws, boto) -> None:
    make_servers(boto)
    with aws.recording_requests() as requests:
        ready = run_module(
            MODULE, {"db_instance_identifier": "mensetsu-test-postgres", "replication_group_id": "mensetsu-test-redis"}
        )
    assert ready["changed"] is False
    assert ready["db_instance"]["db_instance_status"] == "available"
    assert ready["db_instance"]["endpoint"]["address"]
    assert ready["replication_group"]["status"] == "available"
    assert ready["replication_group"]["primary_endpoint"]["address"]
    assert ready["distribution"] == {}
    assert writes(requests) == []
    # As Ansible runs it (argument spec, environment), in check mode: it looks once.
    checked = play_module(MODULE, {"db_instance_identifier": "mensetsu-test-postgres"}, check=True)
    assert checked["db_instance"]["db_instance_status"] == "available"
    assert checked["stats"]["changed"] == 0


def test_servers_their_task_found_ready_are_not_read_again_and_the_others_are(aws, boto) -> None:
    """roles/aws_data/tasks/wait.yml passes the statuses rds_instance and elasticache_replication_group
    read (when they changed nothing): a ready one costs no request, a busy one is still read."""
    make_servers(boto)
    names = {"db_instance_identifier": "mensetsu-test-postgres", "replication_group_id": "mensetsu-test-redis"}
    with aws.recording_requests() as requests:
        settled = run_module(
            MODULE, dict(names, known_statuses={"db_instance": "available", "replication_group": "available"})
        )
    assert requests == []
    assert settled["db_instance"] == {} and settled["replication_group"] == {}
    with aws.recording_requests() as requests:
        busy = run_module(
            MODULE, dict(names, known_statuses={"db_instance": "modifying", "replication_group": "available"})
        )
    assert [r.action for r in requests] == ["DescribeDBInstances"]
    assert busy["db_instance"]["db_instance_status"] == "available"
    assert busy["replication_group"] == {}


def stubbed(service: str):
    """A client as the module gets it (retrying, so its calls carry aws_retry) and the Stubber of its raw client."""
    from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

    raw = boto3.client(service, region_name=REGION, aws_access_key_id="stubbed", aws_secret_access_key="stubbed")
    return RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1)), Stubber(raw)


def test_a_creation_in_progress_is_waited_for_from_not_listed_to_available() -> None:
    waiting = load_library_module(MODULE)
    raw, stubber = stubbed("elasticache")
    request = {"ReplicationGroupId": "mensetsu-test-redis"}
    stubber.add_client_error(
        "describe_replication_groups", "ReplicationGroupNotFoundFault", "not found", 404, expected_params=request
    )
    for status in ("creating", "creating", "available"):
        group = {
            "ReplicationGroupId": "mensetsu-test-redis",
            "Status": status,
            "NodeGroups": [{"NodeGroupId": "0001", "PrimaryEndpoint": {"Address": "primary.example", "Port": 6379}}],
        }
        stubber.add_response("describe_replication_groups", {"ReplicationGroups": [group]}, request)
    _, _, read, status, ready, broken, result = waiting.KINDS["replication_group"]
    with stubber:
        answer = waiting.wait_for(
            "replication_group",
            "mensetsu-test-redis",
            lambda: read(raw, "mensetsu-test-redis"),
            status,
            ready,
            broken,
            timeout=60,
            interval=0,
        )
        stubber.assert_no_pending_responses()
    assert result(answer)["primary_endpoint"] == {"address": "primary.example", "port": 6379}


@pytest.mark.parametrize(
    ("status", "outcome"), [("incompatible-parameters", "fails"), ("failed", "fails"), ("stopped", "settled")]
)
def test_a_database_that_cannot_become_ready_fails_at_once_and_a_stopped_one_is_settled(status, outcome) -> None:
    waiting = load_library_module(MODULE)
    raw, stubber = stubbed("rds")
    instance = {"DBInstanceIdentifier": "mensetsu-test-postgres", "DBInstanceStatus": status}
    stubber.add_response(
        "describe_db_instances", {"DBInstances": [instance]}, {"DBInstanceIdentifier": "mensetsu-test-postgres"}
    )
    _, _, read, get_status, ready, broken, _ = waiting.KINDS["db_instance"]
    with stubber:

        def wait():
            return waiting.wait_for(
                "db_instance",
                "mensetsu-test-postgres",
                lambda: read(raw, "mensetsu-test-postgres"),
                get_status,
                ready,
                broken,
                timeout=3600,
                interval=0,
            )

        if outcome == "fails":
            with pytest.raises(waiting.Broken, match=f"db instance mensetsu-test-postgres is {status}"):
                wait()
        else:
            assert wait()["DBInstanceStatus"] == "stopped"
        stubber.assert_no_pending_responses()  # one look, no more


def test_a_distribution_is_waited_for_until_deployed() -> None:
    waiting = load_library_module(MODULE)
    raw, stubber = stubbed("cloudfront")
    for status in ("InProgress", "Deployed"):
        distribution = {
            "Id": "E2EXAMPLE",
            "ARN": "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE",
            "Status": status,
            "LastModifiedTime": "2026-12-06T00:00:00Z",
            "InProgressInvalidationBatches": 0,
            "DomainName": "d111111abcdef8.cloudfront.net",
            "ActiveTrustedSigners": {"Enabled": False, "Quantity": 0},
            "DistributionConfig": {
                "CallerReference": "ref",
                "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "static.s3.amazonaws.com"}]},
                "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "https-only"},
                "Comment": "",
                "Enabled": True,
            },
        }
        stubber.add_response("get_distribution", {"Distribution": distribution, "ETag": "E1"}, {"Id": "E2EXAMPLE"})
    _, _, read, status, ready, broken, result = waiting.KINDS["distribution"]
    with stubber:
        answer = waiting.wait_for(
            "distribution", "E2EXAMPLE", lambda: read(raw, "E2EXAMPLE"), status, ready, broken, timeout=60, interval=0
        )
        stubber.assert_no_pending_responses()
    assert result(answer)["status"] == "Deployed"
    assert result(answer)["domain_name"] == "d111111abcdef8.cloudfront.net"
