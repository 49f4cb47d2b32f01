"""library/s3_buckets.py against the moto server, run as a playbook's task runs it (tests/support/module.py;
the no-op re-run once through a real playbook).

One module call manages several buckets: it reads only the declared attributes, all of them in
parallel, and writes only what differs; check mode (and so the drift run) reports the same
differences and writes nothing. About 25 s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import boto3
import pytest

from tests.support import module
from tests.support.requests import writes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from latency_proxy import LatencyProxy

REGION_CONFIG = {"LocationConstraint": "ap-northeast-1"}
ACCOUNT = "123456789012"  # moto's
LOGS, MEDIA, STATIC = "mensetsu-test-logs", "mensetsu-test-media", "mensetsu-test-static"
RULE = "expire-noncurrent-and-abort-uploads"
PRIVATE = {
    "block_public_acls": True,
    "ignore_public_acls": True,
    "block_public_policy": True,
    "restrict_public_buckets": True,
}


def tls_only(bucket: str) -> str:
    statement = {
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def declared() -> list[dict]:
    common = {"public_access": PRIVATE, "object_ownership": "BucketOwnerEnforced", "encryption": "AES256"}
    return [
        {
            "name": MEDIA,
            **common,
            "versioning": True,
            "policy": tls_only(MEDIA),
            "tags": {"Name": MEDIA, "Purpose": "media"},
            "lifecycle_rules": [
                {"id": RULE, "noncurrent_version_expiration_days": 30, "abort_incomplete_multipart_upload_days": 7}
            ],
            "cors_rules": [
                {
                    "allowed_origins": ["https://example.test"],
                    "allowed_methods": ["GET", "PUT", "HEAD"],
                    "allowed_headers": ["*"],
                    "expose_headers": ["ETag"],
                    "max_age_seconds": 3000,
                }
            ],
            "logging": {"target_bucket": LOGS, "target_prefix": f"s3/{MEDIA}/"},
        },
        {
            "name": STATIC,
            **common,
            "versioning": True,
            "tags": {"Name": STATIC, "Purpose": "static-site"},
            "logging": {"target_bucket": LOGS, "target_prefix": f"s3/{STATIC}/"},
        },
    ]


def run_module(buckets: list[dict], check: bool = False, playbook: bool = False, endpoint: str | None = None) -> dict:
    """The task's result for these buckets; `playbook`: through ansible-playbook; `endpoint`: another
    AWS endpoint (the inventory's aws_endpoint_url comes from AWS_ENDPOINT_URL)."""
    return (module.play_module if playbook else module.run_module)(
        "s3_buckets",
        {"buckets": buckets, "account_id": ACCOUNT},
        check=check,
        env={"AWS_ENDPOINT_URL": endpoint} if endpoint else None,
    )


def by_name(result: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in result["results"]}


def attributes(entry: dict) -> set[str]:
    return {item["attribute"] for item in entry["differences"]}


def log_target(s3) -> None:
    """The log bucket, owner enforced, whose policy grants the deliveries (no ACL)."""
    s3.create_bucket(Bucket=LOGS, CreateBucketConfiguration=REGION_CONFIG, ObjectOwnership="BucketOwnerEnforced")
    grant = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{LOGS}/*",
    }
    s3.put_bucket_policy(Bucket=LOGS, Policy=json.dumps({"Version": "2012-10-17", "Statement": [grant]}))


def test_create_converge_check_and_fix_a_hand_change(aws, boto) -> None:
    s3 = boto("s3")
    log_target(s3)

    with aws.recording_requests() as requests:
        planned = run_module(declared(), check=True)
    assert planned["changed"] is True and writes(requests) == []
    assert {entry["name"]: attributes(entry) for entry in planned["results"]} == {MEDIA: {"bucket"}, STATIC: {"bucket"}}
    assert {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]} == {LOGS}, "check mode created a bucket"

    with aws.recording_requests() as requests:
        created = run_module(declared())
    # No ACL: on AWS a bucket with ACLs disabled refuses one (moto accepts it); the log bucket's policy is the grant.
    assert not [request for request in writes(requests) if "acl" in urlparse(request.url).query], requests
    assert created["changed"] is True and all(entry["changed"] for entry in created["results"])
    assert s3.get_bucket_versioning(Bucket=MEDIA)["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket=STATIC)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    rules = s3.get_bucket_lifecycle_configuration(Bucket=MEDIA)["Rules"]
    assert [(rule["ID"], rule["NoncurrentVersionExpiration"]["NoncurrentDays"]) for rule in rules] == [(RULE, 30)]
    assert s3.get_bucket_cors(Bucket=MEDIA)["CORSRules"][0]["MaxAgeSeconds"] == 3000
    assert s3.get_bucket_logging(Bucket=STATIC)["LoggingEnabled"] == {
        "TargetBucket": LOGS,
        "TargetPrefix": f"s3/{STATIC}/",
    }
    assert json.loads(s3.get_bucket_policy(Bucket=MEDIA)["Policy"])["Statement"][0]["Sid"] == "DenyPlainHttp"
    tags = {tag["Key"]: tag["Value"] for tag in s3.get_bucket_tagging(Bucket=MEDIA)["TagSet"]}
    assert tags == {"Name": MEDIA, "Purpose": "media"}

    with aws.recording_requests() as requests:
        again = run_module(declared(), playbook=True)
    assert again["changed"] is False and writes(requests) == [], [str(request) for request in writes(requests)]
    # Only what is declared is read: 9 attributes of the media bucket, 6 of the static one.
    assert len(requests) == 15, [str(request) for request in requests]
    assert run_module(declared(), check=True)["changed"] is False

    # By hand: the media bucket's public access block removed, the static bucket's versioning
    # suspended and a tag added, the declared lifecycle rule replaced by another id's rule.
    s3.delete_public_access_block(Bucket=MEDIA)
    s3.put_bucket_versioning(Bucket=STATIC, VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_tagging(
        Bucket=STATIC, Tagging={"TagSet": [{"Key": "Name", "Value": STATIC}, {"Key": "x", "Value": "y"}]}
    )
    other = {"ID": "someone-elses", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 3}}
    s3.put_bucket_lifecycle_configuration(Bucket=MEDIA, LifecycleConfiguration={"Rules": [other]})

    with aws.recording_requests() as requests:
        found = by_name(run_module(declared(), check=True))
    assert writes(requests) == []
    assert attributes(found[MEDIA]) == {f"public_access.{option}" for option in PRIVATE} | {f"lifecycle_rules[{RULE}]"}
    assert attributes(found[STATIC]) == {"versioning", "tags"}
    versioning = next(item for item in found[STATIC]["differences"] if item["attribute"] == "versioning")
    assert (versioning["declared"], versioning["actual"]) == ("Enabled", "Suspended")

    with aws.recording_requests() as requests:
        fixed = run_module(declared())
    assert fixed["changed"] is True
    sent = sorted(
        (request.method, urlparse(request.url).path.strip("/"), urlparse(request.url).query)
        for request in writes(requests)
    )
    assert sent == [
        ("PUT", MEDIA, "lifecycle"),
        ("PUT", MEDIA, "publicAccessBlock"),
        ("PUT", STATIC, "tagging"),
        ("PUT", STATIC, "versioning"),
    ], sent
    ids = sorted(rule["ID"] for rule in s3.get_bucket_lifecycle_configuration(Bucket=MEDIA)["Rules"])
    assert ids == sorted([RULE, "someone-elses"]), "the rule of another id was not kept"
    assert run_module(declared())["changed"] is False


def test_reads_every_bucket_and_attribute_in_parallel(aws, boto) -> None:
    """Behind a proxy that delays each request by 100 ms, the reads of a no-op run overlap."""
    s3 = boto("s3")
    log_target(s3)
    run_module(declared())
    with LatencyProxy(aws.endpoint, delay_ms=100) as proxy:
        result = run_module(declared(), endpoint=proxy.endpoint)
        counts = proxy.counts()
    assert result["changed"] is False
    assert counts.requests == 15, counts.table()
    assert counts.max_in_flight > 1, counts.table()


# --- AWS's own answers (botocore's Stubber), where moto differs ----------------------------------
# Since 2023 a new bucket on AWS already has SSE-S3, all four Block Public Access flags and
# BucketOwnerEnforced; moto's new bucket has none of them (docs/emulator.md). us-east-1 refuses its
# own LocationConstraint.


def test_a_new_bucket_in_us_east_1_gets_only_what_aws_defaults_lack() -> None:
    from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
    from botocore.stub import Stubber

    from tests.support.library_code import TaskModule, load_library_module

    code = load_library_module("s3_buckets")
    raw = boto3.client("s3", region_name="us-east-1", aws_access_key_id="stubbed", aws_secret_access_key="stubbed")
    client = RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1))
    bucket = {
        "name": STATIC,
        "public_access": PRIVATE,
        "object_ownership": "BucketOwnerEnforced",
        "encryption": "AES256",
        "versioning": True,
        "tags": {"Name": STATIC},
    }
    bpa = {key: True for key in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
    aws_defaults = [
        ("get_public_access_block", {"PublicAccessBlockConfiguration": bpa}),
        (
            "get_bucket_ownership_controls",
            {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
        ),
        (
            "get_bucket_encryption",
            {
                "ServerSideEncryptionConfiguration": {
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                }
            },
        ),
        ("get_bucket_versioning", {}),
    ]
    task = TaskModule({}, check_mode=False)
    task.region = "us-east-1"
    with Stubber(raw) as stubber:
        for method, _ in aws_defaults:  # the first reads: no such bucket yet
            stubber.add_client_error(method, "NoSuchBucket", http_status_code=404)
        stubber.add_client_error("get_bucket_tagging", "NoSuchBucket", http_status_code=404)
        stubber.add_response("create_bucket", {"Location": f"/{STATIC}"}, {"Bucket": STATIC})
        # The waiter reads the status code, which a stubbed response carries only when given.
        stubber.add_response("head_bucket", {"ResponseMetadata": {"HTTPStatusCode": 200}}, {"Bucket": STATIC})
        for method, response in aws_defaults:
            stubber.add_response(method, response, {"Bucket": STATIC})
        stubber.add_client_error("get_bucket_tagging", "NoSuchTagSet", http_status_code=404)
        stubber.add_response(
            "put_bucket_versioning", {}, {"Bucket": STATIC, "VersioningConfiguration": {"Status": "Enabled"}}
        )
        stubber.add_response(
            "put_bucket_tagging", {}, {"Bucket": STATIC, "Tagging": {"TagSet": [{"Key": "Name", "Value": STATIC}]}}
        )
        runner = code.Buckets(task, client, threads=1)  # one thread: the Stubber's answers in order
        (result,) = runner.run([bucket])
        runner.pool.shutdown()
        stubber.assert_no_pending_responses()
    assert result["changed"] is True and result["exists"] is False
    assert {item["attribute"] for item in result["differences"]} == {"bucket", "versioning", "tags"}


# --- The bucket owner condition (account_id) -------------------------------------------------------
# AWS answers 403 AccessDenied to a request whose ExpectedBucketOwner is not the bucket's account;
# moto ignores the condition, and the project's emulator (tests/support/moto_aws.py) answers as AWS.
OTHER_ACCOUNT = "210987654321"


def test_a_name_another_account_holds_stops_the_task_before_any_write(aws, boto) -> None:
    s3 = boto("s3")
    log_target(s3)
    squatter = aws.other_account_client("s3", OTHER_ACCOUNT)
    squatter.create_bucket(Bucket=STATIC, CreateBucketConfiguration=REGION_CONFIG)
    buckets = [{**bucket, "setting": f"{bucket['tags']['Purpose'].split('-')[0]}_bucket_name"} for bucket in declared()]

    for check in (True, False):
        with aws.recording_requests() as requests:
            result = module.run_module(
                "s3_buckets", {"buckets": buckets, "account_id": ACCOUNT}, check=check, failures=1
            )
        assert writes(requests) == [], [str(request) for request in writes(requests)]
        assert result["msg"].startswith(f"static_bucket_name: the bucket name {STATIC} belongs to another AWS account")
        assert "media_bucket_name" not in result["msg"] and result["taken"] == [STATIC]
    assert {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]} == {LOGS}, "the free name's bucket was created"
    assert squatter.get_bucket_versioning(Bucket=STATIC).get("Status") is None

    # This account's own bucket passes the condition: read, compared, nothing written.
    own = {"name": LOGS, "setting": "log_bucket_name", "object_ownership": "BucketOwnerEnforced"}
    with aws.recording_requests() as requests:
        result = module.run_module("s3_buckets", {"buckets": [own], "account_id": ACCOUNT})
    assert result["changed"] is False and len(requests) == 1 and writes(requests) == []

    # Without account_id the condition is the caller's account (one STS read), never none.
    with aws.recording_requests() as requests:
        result = module.run_module("s3_buckets", {"buckets": buckets}, check=True, failures=1)
    assert result["taken"] == [STATIC] and [request.action for request in requests].count("GetCallerIdentity") == 1


def test_a_denied_read_of_this_accounts_own_bucket_fails_as_the_read() -> None:
    """403 under the condition, yet ListBuckets lists the bucket: the caller may not read its own bucket,
    which is the read's error, not another account's name."""
    from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
    from botocore.stub import Stubber

    from tests.support.library_code import ModuleFailed, TaskModule, load_library_module

    code = load_library_module("s3_buckets")
    raw = boto3.client("s3", region_name="ap-northeast-1", aws_access_key_id="stubbed", aws_secret_access_key="stubbed")
    client = RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1))
    task = TaskModule({}, check_mode=True)
    with Stubber(raw) as stubber:
        stubber.add_client_error(
            "get_bucket_versioning",
            "AccessDenied",
            http_status_code=403,
            expected_params={"Bucket": STATIC, "ExpectedBucketOwner": ACCOUNT},
        )
        stubber.add_response("list_buckets", {"Buckets": [{"Name": STATIC}]}, {"Prefix": STATIC, "MaxBuckets": 1000})
        runner = code.Buckets(task, client, threads=1, owner=ACCOUNT)
        with pytest.raises(ModuleFailed) as failed:
            runner.run([{"name": STATIC, "setting": "static_bucket_name", "versioning": True}])
        runner.pool.shutdown()
        stubber.assert_no_pending_responses()
    assert str(failed.value).startswith(f"Failed to read the versioning of bucket {STATIC}: "), failed.value
    assert "AccessDenied" in str(failed.value)
