"""library/cloudfront_security_headers_policy.py against CloudFront's own API shapes, offline.

moto 5.2.5 has no response headers policies (every route answers 404), so the module's functions
talk to a real botocore client under botocore's Stubber: each request is validated against the
CloudFront service model, and each answer is shaped as AWS gives it (the list carries every
policy's configuration; updates and deletes need the ETag of GetResponseHeadersPolicy as IfMatch).
Create, no-op (one read, no write), check mode (no write), update of a value changed out of band,
and delete. Each test takes well under a second.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from tests.support.library_code import TaskModule, load_library_module

headers = load_library_module("cloudfront_security_headers_policy")
NAME = "mensetsu-test-security-headers"
POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"
CSP = "default-src 'self'; object-src 'none'; frame-ancestors 'none'"
NOW = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)


def task(check_mode: bool = False, **params: Any) -> TaskModule:
    return TaskModule(
        {
            "state": "present",
            "name": NAME,
            "comment": "",
            "override": True,
            "hsts_max_age": 31536000,
            "hsts_include_subdomains": True,
            "hsts_preload": False,
            "content_security_policy": CSP,
            "content_type_options": True,
            "frame_option": "DENY",
            "referrer_policy": "strict-origin-when-cross-origin",
            **params,
        },
        check_mode=check_mode,
    )


# The configuration the module sends for task(), as AWS stores and returns it.
STORED = {
    "Name": NAME,
    "Comment": "",
    "SecurityHeadersConfig": {
        "StrictTransportSecurity": {
            "Override": True,
            "IncludeSubdomains": True,
            "Preload": False,
            "AccessControlMaxAgeSec": 31536000,
        },
        "FrameOptions": {"Override": True, "FrameOption": "DENY"},
        "ReferrerPolicy": {"Override": True, "ReferrerPolicy": "strict-origin-when-cross-origin"},
        "ContentTypeOptions": {"Override": True},
        "ContentSecurityPolicy": {"Override": True, "ContentSecurityPolicy": CSP},
    },
}


def listing(*configs: dict) -> dict:
    """ListResponseHeadersPolicies(Type=custom) as AWS answers it: every policy with its configuration."""
    items = [
        {
            "Type": "custom",
            "ResponseHeadersPolicy": {
                "Id": POLICY_ID if config["Name"] == NAME else f"other-{number}",
                "LastModifiedTime": NOW,
                "ResponseHeadersPolicyConfig": config,
            },
        }
        for number, config in enumerate(configs)
    ]
    return {"ResponseHeadersPolicyList": {"MaxItems": 100, "Quantity": len(items), "Items": items}}


def policy(config: dict, etag: str = "E2QWRUHAPOMQZL") -> dict:
    return {
        "ResponseHeadersPolicy": {"Id": POLICY_ID, "LastModifiedTime": NOW, "ResponseHeadersPolicyConfig": config},
        "ETag": etag,
    }


OTHER = {"Name": "another-projects-policy", "Comment": "", "CustomHeadersConfig": {"Quantity": 0}}


@pytest.fixture
def cloudfront():
    client = boto3.client(
        "cloudfront", region_name="us-east-1", aws_access_key_id="stubbed", aws_secret_access_key="stubbed"
    )
    with Stubber(client) as stubber:
        yield RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1)), stubber
        stubber.assert_no_pending_responses()


def test_created_from_nothing_and_check_mode_writes_nothing(cloudfront) -> None:
    client, stubber = cloudfront
    stubber.add_response("list_response_headers_policies", listing(OTHER), {"Type": "custom"})
    planned = headers.SecurityHeadersPolicy(task(check_mode=True), client).ensure_present()
    assert (planned["changed"], planned["id"]) == (True, "")
    assert planned["diff"]["after"]["SecurityHeadersConfig"] == STORED["SecurityHeadersConfig"]

    stubber.add_response("list_response_headers_policies", listing(OTHER), {"Type": "custom"})
    stubber.add_response(
        "create_response_headers_policy",
        {
            **policy(STORED),
            "Location": f"https://cloudfront.amazonaws.com/2020-05-31/response-headers-policy/{POLICY_ID}",
        },
        {"ResponseHeadersPolicyConfig": STORED},
    )
    created = headers.SecurityHeadersPolicy(task(), client).ensure_present()
    assert (created["changed"], created["id"]) == (True, POLICY_ID)


def test_unchanged_policy_is_one_read_and_no_write(cloudfront) -> None:
    client, stubber = cloudfront
    for check_mode in (False, True):
        stubber.add_response("list_response_headers_policies", listing(OTHER, STORED), {"Type": "custom"})
        result = headers.SecurityHeadersPolicy(task(check_mode=check_mode), client).ensure_present()
        assert (result["changed"], result["changed_fields"], result["id"]) == (False, [], POLICY_ID)


def test_a_header_changed_out_of_band_is_reported_then_put_back_with_the_etag(cloudfront) -> None:
    client, stubber = cloudfront
    by_hand = copy.deepcopy(STORED)
    by_hand["SecurityHeadersConfig"]["FrameOptions"]["FrameOption"] = "SAMEORIGIN"
    del by_hand["SecurityHeadersConfig"]["ContentSecurityPolicy"]

    stubber.add_response("list_response_headers_policies", listing(by_hand), {"Type": "custom"})
    planned = headers.SecurityHeadersPolicy(task(check_mode=True), client).ensure_present()
    assert (planned["changed"], planned["changed_fields"]) == (True, ["SecurityHeadersConfig"])
    assert planned["diff"]["before"]["SecurityHeadersConfig"]["FrameOptions"]["FrameOption"] == "SAMEORIGIN"

    stubber.add_response("list_response_headers_policies", listing(by_hand), {"Type": "custom"})
    stubber.add_response("get_response_headers_policy", policy(by_hand, etag="E3CHANGED"), {"Id": POLICY_ID})
    stubber.add_response(
        "update_response_headers_policy",
        policy(STORED, etag="E4NEW"),
        {"Id": POLICY_ID, "IfMatch": "E3CHANGED", "ResponseHeadersPolicyConfig": STORED},
    )
    updated = headers.SecurityHeadersPolicy(task(), client).ensure_present()
    assert updated["changed"] is True


def test_preload_and_a_custom_header_added_by_hand_are_differences(cloudfront) -> None:
    client, stubber = cloudfront
    with_custom = {
        **STORED,
        "CustomHeadersConfig": {"Quantity": 1, "Items": [{"Header": "X-A", "Value": "b", "Override": True}]},
    }
    stubber.add_response("list_response_headers_policies", listing(with_custom), {"Type": "custom"})
    planned = headers.SecurityHeadersPolicy(task(check_mode=True, hsts_preload=True), client).ensure_present()
    assert planned["changed_fields"] == ["CustomHeadersConfig", "SecurityHeadersConfig"]
    assert planned["diff"]["after"]["SecurityHeadersConfig"]["StrictTransportSecurity"]["Preload"] is True


def test_deleted_with_the_etag_and_check_mode_deletes_nothing(cloudfront) -> None:
    client, stubber = cloudfront
    stubber.add_response("list_response_headers_policies", listing(STORED), {"Type": "custom"})
    assert headers.SecurityHeadersPolicy(task(check_mode=True, state="absent"), client).ensure_absent()["changed"]

    stubber.add_response("list_response_headers_policies", listing(STORED), {"Type": "custom"})
    stubber.add_response("get_response_headers_policy", policy(STORED, etag="E5"), {"Id": POLICY_ID})
    stubber.add_response("delete_response_headers_policy", {}, {"Id": POLICY_ID, "IfMatch": "E5"})
    assert headers.SecurityHeadersPolicy(task(state="absent"), client).ensure_absent()["changed"] is True

    stubber.add_response("list_response_headers_policies", listing(OTHER), {"Type": "custom"})
    assert headers.SecurityHeadersPolicy(task(state="absent"), client).ensure_absent()["changed"] is False
