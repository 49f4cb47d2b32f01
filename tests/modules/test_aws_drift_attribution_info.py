"""library/aws_drift_attribution_info.py on CloudTrail's answers. moto 5.2.5 does not implement
LookupEvents (it answers HTTP 500), so the answers AWS gives are fed with botocore's Stubber, which
checks every request and response against the CloudTrail service model: events (a write, a read,
an older write), no event, AccessDeniedException. Also the run's bounds: at most max_lookups
resources, and no more than `rate` requests per second whatever the threads. Under a second each,
but the rate test (about 2 s)."""

from __future__ import annotations

import datetime
import json
import time

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from tests.support.library_code import load_library_module

WHEN = datetime.datetime(2026, 12, 5, 23, 14, 9, tzinfo=datetime.UTC)
ADMIN = "arn:aws:sts::123456789012:assumed-role/Admin/alice"


def load_module():
    return load_library_module("aws_drift_attribution_info")


def client():
    session = botocore.session.get_session()
    return session.create_client(
        "cloudtrail", region_name="ap-northeast-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def event(name: str, minutes_ago: int, read_only: bool = False, arn: str = ADMIN) -> dict:
    """One Events entry as LookupEvents returns it (its CloudTrailEvent is the record's JSON)."""
    when = WHEN - datetime.timedelta(minutes=minutes_ago)
    record = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "arn": arn, "accountId": "123456789012"},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "console.ec2.amazonaws.com",
        "readOnly": read_only,
        "eventID": f"id-{name}-{minutes_ago}",
    }
    return {
        "EventId": record["eventID"],
        "EventName": name,
        "ReadOnly": "true" if read_only else "false",
        "EventTime": when,
        "EventSource": "ec2.amazonaws.com",
        "Username": "alice",
        "Resources": [{"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": "sg-0abc"}],
        "CloudTrailEvent": json.dumps(record),
    }


def expected(value: str) -> dict:
    return {
        "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": value}],
        "StartTime": ANY,
        "MaxResults": 50,
    }


def test_the_newest_write_events_are_kept_and_reads_left_out() -> None:
    module, cloudtrail = load_module(), client()
    with Stubber(cloudtrail) as stub:
        answer = [
            event("DescribeSecurityGroups", 1, read_only=True),
            event("AuthorizeSecurityGroupIngress", 5),
            event("CreateSecurityGroup", 60, arn="arn:aws:iam::123456789012:user/bob"),
            event("CreateTags", 61),
        ]
        stub.add_response("lookup_events", {"Events": answer}, expected("sg-0abc"))
        stub.add_response("lookup_events", {"Events": []}, expected("i-0def"))
        result, requests = module.attribute(
            cloudtrail,
            [{"key": "group", "lookup": "sg-0abc"}, {"key": "instance", "lookup": "i-0def"}],
            max_lookups=20,
            max_events=2,
            rate=100.0,
            workers=1,
        )
        stub.assert_no_pending_responses()
    assert requests == 2
    group = result["group"]
    assert group["status"] == "found" and group["reason"] == ""
    assert [e["event_name"] for e in group["events"]] == ["AuthorizeSecurityGroupIngress", "CreateSecurityGroup"]
    assert group["events"][0] == {
        "time": "2026-12-05T23:09:09+00:00",
        "event_name": "AuthorizeSecurityGroupIngress",
        "principal_arn": ADMIN,
        "source_ip": "203.0.113.7",
        "user_agent": "console.ec2.amazonaws.com",
        "event_source": "ec2.amazonaws.com",
        "event_id": "id-AuthorizeSecurityGroupIngress-5",
    }
    assert group["events"][1]["principal_arn"] == "arn:aws:iam::123456789012:user/bob"
    assert result["instance"] == {
        "status": "none",
        "reason": "no write event in CloudTrail's last 90 days",
        "events": [],
    }


def test_access_denied_says_why_for_every_resource_and_stops_asking() -> None:
    module, cloudtrail = load_module(), client()
    message = (
        "User: arn:aws:sts::123456789012:assumed-role/drift/x is not authorized to perform: cloudtrail:LookupEvents"
    )
    with Stubber(cloudtrail) as stub:
        stub.add_client_error("lookup_events", "AccessDeniedException", message, 400, expected_params=expected("a"))
        resources = [{"key": key, "lookup": key} for key in ("a", "b", "c")]
        result, requests = module.attribute(cloudtrail, resources, 20, 3, rate=100.0, workers=1)
        stub.assert_no_pending_responses()
    assert requests == 1, "after AccessDenied no other lookup is sent"
    for key in ("a", "b", "c"):
        assert result[key]["status"] == "unavailable" and result[key]["events"] == []
        assert "may not read CloudTrail's event history" in result[key]["reason"], result[key]
        assert "AccessDeniedException" in result[key]["reason"]


def test_lookups_are_bounded_and_rate_limited_across_threads() -> None:
    module, cloudtrail = load_module(), client()
    resources = [{"key": f"r{index}", "lookup": f"sg-{index}"} for index in range(7)]
    resources.append({"key": "same-group-again", "lookup": "sg-0"})  # one lookup serves both
    with Stubber(cloudtrail) as stub:
        for _ in range(5):
            stub.add_response("lookup_events", {"Events": []})
        began = time.monotonic()
        result, requests = module.attribute(cloudtrail, resources, max_lookups=5, max_events=3, rate=2.0, workers=4)
        elapsed = time.monotonic() - began
        stub.assert_no_pending_responses()
    assert requests == 5
    # Five request starts at 2 per second: the fifth starts 2 s after the first.
    assert elapsed >= 1.95, elapsed
    assert result["same-group-again"] == result["r0"] and result["r0"]["status"] == "none"
    assert [result[f"r{index}"]["status"] for index in (5, 6)] == ["skipped", "skipped"]
    assert "drift_attribution_max_lookups" in result["r5"]["reason"]


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [("500", 500, "moto 5.2.5 has no LookupEvents"), ("ThrottlingException", 400, "ThrottlingException")],
)
def test_other_errors_say_what_happened(code: str, status: int, words: str) -> None:
    module, cloudtrail = load_module(), client()
    with Stubber(cloudtrail) as stub:
        stub.add_client_error("lookup_events", code, "x", status)
        result, _ = module.attribute(cloudtrail, [{"key": "k", "lookup": "v"}], 20, 3, rate=100.0, workers=1)
    assert result["k"]["status"] == "unavailable" and words in result["k"]["reason"], result
