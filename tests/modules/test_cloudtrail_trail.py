"""library/cloudtrail_trail.py against the moto server (run as a playbook's task runs it,
tests/support/module.py): created once with its logging and tags; a run that changes nothing reads
the trail, its status and its tags (side by side: test_reads_side_by_side.py) and writes nothing;
what someone changed by hand (log file validation, logging, a tag) is a diff in check mode and put
back with exactly the calls it needs; bad input stops before any write; deleted (check mode first).
AWS's answer for the tags of a trail that does not exist (ResourceNotFoundException; moto answers
an empty list) is fed with botocore's Stubber.
"""

from __future__ import annotations

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from tests.support import module
from tests.support.library_code import load_library_module
from tests.support.requests import writes

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"  # moto's
NAME = "mensetsu-test-trail"
BUCKET = "mensetsu-test-logs"
TAGS = {"Project": "mensetsu", "Environment": "test"}
ARGS = {
    "name": NAME,
    "s3_bucket_name": BUCKET,
    "is_multi_region_trail": True,
    "include_global_service_events": True,
    "enable_log_file_validation": True,
    "enable_logging": True,
    "tags": TAGS,
    "account_id": ACCOUNT,
}
ONE_ATTEMPT = {"AWS_MAX_ATTEMPTS": "1"}


def run(check: bool = False, **args: object) -> dict:
    return module.run_module("cloudtrail_trail", {**ARGS, **args}, check=check, env=ONE_ATTEMPT)


@pytest.fixture
def cloudtrail(boto):
    boto("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return boto("cloudtrail")


def trail_tags(cloudtrail, arn: str) -> dict[str, str]:
    (entry,) = cloudtrail.list_tags(ResourceIdList=[arn])["ResourceTagList"]
    return {tag["Key"]: tag["Value"] for tag in entry.get("TagsList") or []}


def test_lifecycle_with_one_round_trip_on_a_no_op_and_exact_repairs(aws, cloudtrail) -> None:
    with aws.recording_requests() as requests:
        planned = run(check=True)
    assert planned["changed"] is True and planned["diff"]["before"] == {}
    assert writes(requests) == [] and cloudtrail.describe_trails()["trailList"] == []

    created = run()
    assert created["changed"] is True
    (trail,) = cloudtrail.describe_trails(trailNameList=[NAME])["trailList"]
    assert (trail["S3BucketName"], trail["IsMultiRegionTrail"], trail["LogFileValidationEnabled"]) == (
        BUCKET,
        True,
        True,
    )
    assert trail["IncludeGlobalServiceEvents"] is True
    assert cloudtrail.get_trail_status(Name=NAME)["IsLogging"] is True
    assert trail_tags(cloudtrail, trail["TrailARN"]) == TAGS
    assert created["trail"]["trail_arn"] == trail["TrailARN"]

    # A no-op: three reads (side by side: tests/modules/test_reads_side_by_side.py), no write, the
    # same result in check mode.
    for check in (False, True):
        with aws.recording_requests() as requests:
            again = run(check=check)
        assert again["changed"] is False, again["diff"]
        assert sorted(request.action for request in requests) == ["DescribeTrails", "GetTrailStatus", "ListTags"]
        assert again["trail"]["trail_arn"] == trail["TrailARN"] and again["trail"]["is_logging"] is True

    # Changed by hand: validation off, logging stopped, a tag added.
    cloudtrail.update_trail(Name=NAME, EnableLogFileValidation=False)
    cloudtrail.stop_logging(Name=NAME)
    cloudtrail.add_tags(ResourceId=trail["TrailARN"], TagsList=[{"Key": "Owner", "Value": "someone"}])
    with aws.recording_requests() as requests:
        drift = run(check=True)
    assert writes(requests) == []
    assert drift["changed"] is True
    assert drift["diff"]["before"] == {
        "enable_log_file_validation": False,
        "is_logging": False,
        "tags": {**TAGS, "Owner": "someone"},
    }
    assert drift["diff"]["after"] == {"enable_log_file_validation": True, "is_logging": True, "tags": TAGS}
    with aws.recording_requests() as requests:
        repaired = run()
    assert repaired["changed"] is True
    assert sorted(request.action for request in writes(requests)) == ["RemoveTags", "StartLogging", "UpdateTrail"]
    (trail,) = cloudtrail.describe_trails(trailNameList=[NAME])["trailList"]
    assert trail["LogFileValidationEnabled"] is True and cloudtrail.get_trail_status(Name=NAME)["IsLogging"] is True
    assert trail_tags(cloudtrail, trail["TrailARN"]) == TAGS
    assert run()["changed"] is False

    # Unset settings are left alone: a task that declares only the name changes nothing.
    assert module.run_module("cloudtrail_trail", {"name": NAME}, env=ONE_ATTEMPT)["changed"] is False

    with aws.recording_requests() as requests:
        planned_delete = run(check=True, state="absent")
    assert planned_delete["changed"] is True and writes(requests) == []
    assert run(state="absent")["changed"] is True
    assert cloudtrail.describe_trails()["trailList"] == []
    assert run(state="absent")["changed"] is False


def test_bad_input_stops_before_any_write(aws) -> None:
    with aws.recording_requests() as requests:
        mixed = module.run_module(
            "cloudtrail_trail", {**ARGS, "include_global_service_events": False}, env=ONE_ATTEMPT, failures=1
        )
    assert "is_multi_region_trail" in mixed["msg"] and "include_global_service_events" in mixed["msg"]
    assert requests == [], "refused before any call"
    with aws.recording_requests() as requests:
        bucketless = module.run_module(
            "cloudtrail_trail", {**ARGS, "s3_bucket_name": None}, env=ONE_ATTEMPT, failures=1
        )
    assert "s3_bucket_name: required to create trail" in bucketless["msg"]
    assert writes(requests) == []


def test_a_multi_region_trail_of_a_trail_without_global_events_is_refused_before_a_write(aws, cloudtrail) -> None:
    """Left unset, include_global_service_events keeps the trail's own value: when that is off, making
    the trail multi-region is refused (AWS would answer InvalidParameterCombinationException)."""
    cloudtrail.create_trail(Name=NAME, S3BucketName=BUCKET, IncludeGlobalServiceEvents=False)
    args = {key: value for key, value in ARGS.items() if key != "include_global_service_events"}
    with aws.recording_requests() as requests:
        refused = module.run_module("cloudtrail_trail", args, env=ONE_ATTEMPT, failures=1)
    assert "is_multi_region_trail" in refused["msg"] and "include_global_service_events: true" in refused["msg"]
    assert writes(requests) == []


def test_the_tags_of_a_trail_that_does_not_exist_are_not_found_as_aws_answers() -> None:
    trails = load_library_module("cloudtrail_trail")
    raw = boto3.client("cloudtrail", region_name=REGION, aws_access_key_id="stubbed", aws_secret_access_key="stubbed")
    client = RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1))
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{NAME}"
    with Stubber(raw) as stubber:
        stubber.add_client_error(
            "list_tags", "ResourceNotFoundException", f"Resource {arn} not found.", 404, {"ResourceIdList": [arn]}
        )
        stubber.add_client_error("get_trail_status", "TrailNotFoundException", "Unknown trail", 404, {"Name": NAME})
        assert trails.trail_tags(client, arn) is None
        assert trails.trail_logging(client, NAME) is None
        stubber.assert_no_pending_responses()
