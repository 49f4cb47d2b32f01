"""library/s3_bucket_logging.py against the moto server, run the way a playbook runs it.

On AWS a target bucket with ACLs disabled (BucketOwnerEnforced) refuses PutBucketAcl, which
community.aws.s3_logging always sends; moto accepts it. So the test proves that the module sends
no ACL request at all: the target's bucket policy is the grant. About 6 s.
"""

from __future__ import annotations

import json
from urllib.parse import urlparse

from tests.support.playbook import JSON_OUTPUT, run_playbook, task_result_json
from tests.support.requests import writes

PLAYBOOK = "tests/modules/playbooks/s3_bucket_logging.yml"
SOURCE, TARGET = "mensetsu-test-media", "mensetsu-test-logs"
PREFIX = f"s3/{SOURCE}/"
REGION_CONFIG = {"LocationConstraint": "ap-northeast-1"}


def run_module(check: bool = False, **variables: object) -> dict:
    run = run_playbook(
        PLAYBOOK, extra_vars={"logging_bucket": SOURCE, **variables}, check=check, diff=True, env=JSON_OUTPUT
    )
    return task_result_json(run)


def test_logging_to_an_owner_enforced_bucket_sends_no_acl(aws, boto) -> None:
    s3 = boto("s3")
    s3.create_bucket(Bucket=SOURCE, CreateBucketConfiguration=REGION_CONFIG)
    s3.create_bucket(Bucket=TARGET, CreateBucketConfiguration=REGION_CONFIG, ObjectOwnership="BucketOwnerEnforced")
    grant = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{TARGET}/{PREFIX}*",
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{SOURCE}"}},
    }
    s3.put_bucket_policy(Bucket=TARGET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [grant]}))
    declared = {"logging_target": TARGET, "logging_prefix": PREFIX}

    planned = run_module(check=True, **declared)
    assert planned["changed"] is True and planned["diff"]["before"] == {}
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=SOURCE), "check mode turned the logging on"

    with aws.recording_requests() as requests:
        created = run_module(**declared)
    assert created["changed"] is True
    sent = [(request.method, urlparse(request.url).query) for request in writes(requests)]
    assert sent == [("PUT", "logging")], sent  # PutBucketLogging alone: no PutBucketAcl
    assert s3.get_bucket_logging(Bucket=SOURCE)["LoggingEnabled"] == {"TargetBucket": TARGET, "TargetPrefix": PREFIX}

    with aws.recording_requests() as requests:
        again = run_module(**declared)
    assert again["changed"] is False and writes(requests) == []

    # Turned off out of band (what drift sees): the check run reports it, the converge restores it.
    s3.put_bucket_logging(Bucket=SOURCE, BucketLoggingStatus={})
    assert run_module(check=True, **declared)["changed"] is True
    assert run_module(**declared)["changed"] is True
    assert s3.get_bucket_logging(Bucket=SOURCE)["LoggingEnabled"]["TargetPrefix"] == PREFIX

    assert run_module(check=True, logging_state="absent")["changed"] is True
    assert run_module(logging_state="absent")["changed"] is True
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=SOURCE)
    assert run_module(logging_state="absent")["changed"] is False
