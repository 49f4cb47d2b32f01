"""library/cloudfront_spa_distribution.py against the moto server, run as a playbook's task runs it
(tests/support/module.py; the lifecycle's re-run once through a real playbook).

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run and --check
re-run (unchanged, not one mutating request), update of one field (check mode first), tags,
delete (check mode first). Moto drops an origin's OriginAccessControlId from what it returns,
so the OAC link is asserted through what the module sent (its diff) and its own no-op run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.support import module
from tests.support.cloudfront import other_projects_distribution
from tests.support.playbook import REPO
from tests.support.requests import distribution_configs_read, writes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from latency_proxy import LatencyProxy

COMMENT = "mensetsu-test static site"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
TAGS = {"Project": "mensetsu", "Environment": "test", "ManagedBy": "ansible"}


def run_module(check: bool = False, expect_failure: bool = False, playbook: bool = False, **args: object) -> dict:
    """The task's result for the module's options `args` (comment: COMMENT); `playbook`: through ansible-playbook."""
    return (module.play_module if playbook else module.run_module)(
        "cloudfront_spa_distribution", {"comment": COMMENT, **args}, check=check, failures=1 if expect_failure else 0
    )


def distributions(cloudfront) -> list[dict]:
    return cloudfront.list_distributions()["DistributionList"].get("Items") or []


@pytest.fixture
def site(boto) -> dict:
    """The module's inputs for a site served through an origin access control."""
    oac = boto("cloudfront", "us-east-1").create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "mensetsu-test-static",
            "Description": "",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    return {
        "caller_reference": "mensetsu-test-static",
        "origin_bucket": "mensetsu-test-static",
        "origin_bucket_region": "ap-northeast-1",
        "origin_access_control_id": oac,
        "tags": TAGS,
    }


@pytest.fixture
def domain(boto) -> dict:
    """The apex and www, with a certificate for them requested in us-east-1 (moto's ACM takes ~2 s)."""
    certificate = boto("acm", "us-east-1").request_certificate(
        DomainName="example.com", SubjectAlternativeNames=["www.example.com"], ValidationMethod="DNS"
    )["CertificateArn"]
    return {"aliases": ["www.example.com", "example.com"], "acm_certificate_arn": certificate}


def test_distribution_lifecycle(aws, boto, site, domain) -> None:
    cloudfront = boto("cloudfront", "us-east-1")
    site = {**site, **domain}

    planned = run_module(check=True, **site)
    assert planned["changed"] is True
    assert planned["diff"]["after"]["Origins"]["Items"][0]["OriginAccessControlId"] == site["origin_access_control_id"]
    assert distributions(cloudfront) == [], "check mode created a distribution"

    created = run_module(wait=True, **site)
    assert created["changed"] is True
    assert created["status"] == "Deployed"
    assert created["aliases"] == ["example.com", "www.example.com"]
    assert created["domain_name"].endswith(".cloudfront.net")
    assert created["arn"].endswith(f":distribution/{created['id']}")
    response = cloudfront.get_distribution_config(Id=created["id"])
    config = response["DistributionConfig"]
    assert created["etag"] == response["ETag"]
    assert config["CallerReference"] == "mensetsu-test-static"
    assert config["Comment"] == COMMENT and config["Enabled"] is True
    assert config["DefaultRootObject"] == "index.html"
    (origin,) = config["Origins"]["Items"]
    assert origin["DomainName"] == "mensetsu-test-static.s3.ap-northeast-1.amazonaws.com"
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["TargetOriginId"] == origin["Id"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["Compress"] is True
    assert behaviour["CachePolicyId"] == CACHING_OPTIMIZED
    fallback = {item["ErrorCode"]: item for item in config["CustomErrorResponses"]["Items"]}
    assert sorted(fallback) == [403, 404]
    for item in fallback.values():
        assert (item["ResponsePagePath"], item["ResponseCode"]) == ("/index.html", "200")
        assert item["ErrorCachingMinTTL"] <= 60
    assert sorted(config["Aliases"]["Items"]) == ["example.com", "www.example.com"]
    certificate = config["ViewerCertificate"]
    assert certificate["ACMCertificateArn"] == site["acm_certificate_arn"]
    assert (certificate["SSLSupportMethod"], certificate["MinimumProtocolVersion"]) == ("sni-only", "TLSv1.2_2021")
    assert certificate["CloudFrontDefaultCertificate"] is False
    assert config["PriceClass"] == "PriceClass_200"
    assert config["HttpVersion"] == "http2and3" and config["IsIPV6Enabled"] is True
    tags = cloudfront.list_tags_for_resource(Resource=created["arn"])["Tags"]["Items"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == TAGS

    with aws.recording_requests() as requests:
        again = run_module(playbook=True, **site)
        checked = run_module(check=True, **site)
    assert (again["changed"], checked["changed"]) == (False, False)
    assert again["changed_fields"] == [] and again["id"] == created["id"]
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert any(request.action == "" and "distribution" in request.url for request in requests)

    planned_update = run_module(check=True, price_class="PriceClass_All", **site)
    assert planned_update["changed"] is True
    assert planned_update["changed_fields"] == ["PriceClass"]
    assert planned_update["diff"] == {
        "before": {"PriceClass": "PriceClass_200"},
        "after": {"PriceClass": "PriceClass_All"},
    }
    assert cloudfront.get_distribution_config(Id=created["id"])["DistributionConfig"]["PriceClass"] == "PriceClass_200"

    updated = run_module(price_class="PriceClass_All", **site)
    assert updated["changed"] is True and updated["changed_fields"] == ["PriceClass"]
    config = cloudfront.get_distribution_config(Id=created["id"])["DistributionConfig"]
    assert config["PriceClass"] == "PriceClass_All"
    assert sorted(config["Aliases"]["Items"]) == ["example.com", "www.example.com"], "the update lost a field"
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == CACHING_OPTIMIZED
    assert len(distributions(cloudfront)) == 1

    absent = {"state": "absent", "caller_reference": "mensetsu-test-static"}
    planned_delete = run_module(check=True, **absent)
    assert planned_delete["changed"] is True
    assert len(distributions(cloudfront)) == 1, "check mode deleted the distribution"

    deleted = run_module(wait=True, **absent)
    assert deleted["changed"] is True
    assert distributions(cloudfront) == []
    assert run_module(**absent)["changed"] is False


BAD_CERTIFICATE_SETTINGS = {
    # the emulator would accept this ARN; AWS refuses a certificate outside us-east-1 for CloudFront
    "must be a certificate in us-east-1": {
        "acm_certificate_arn": "arn:aws:acm:ap-northeast-1:123456789012:certificate/1"
    },
    # the default certificate covers only *.cloudfront.net
    "aliases need acm_certificate_arn": {},
}


def test_bad_certificate_settings_stop_before_any_request(aws, boto, site) -> None:
    for message, change in BAD_CERTIFICATE_SETTINGS.items():
        with aws.recording_requests() as requests:
            failed = run_module(expect_failure=True, aliases=["example.com"], **{**site, **change})
        assert message in failed["msg"], failed["msg"]
        assert requests == [], f"the module called AWS before refusing ({message})"
    assert distributions(boto("cloudfront", "us-east-1")) == []


def test_found_by_comment_with_the_default_certificate_and_retagged(aws, boto, site) -> None:
    cloudfront = boto("cloudfront", "us-east-1")
    # No origin_bucket_region: the bucket is taken to be in the module's region (the play's AWS_REGION).
    plain = {key: site[key] for key in ("origin_bucket", "origin_access_control_id")}

    # A --check run from empty: the OAC task did not create the OAC, so its id is empty.
    planned = run_module(check=True, **{**plain, "origin_access_control_id": ""})
    assert planned["changed"] is True and distributions(cloudfront) == []
    assert (planned["id"], planned["arn"]) == ("", ""), "later tasks of a --check run read these"

    created = run_module(**plain)
    assert created["changed"] is True and created["aliases"] == []
    config = cloudfront.get_distribution_config(Id=created["id"])["DistributionConfig"]
    assert config["CallerReference"] == COMMENT
    assert config["ViewerCertificate"]["CloudFrontDefaultCertificate"] is True
    assert config["Origins"]["Items"][0]["DomainName"] == "mensetsu-test-static.s3.ap-northeast-1.amazonaws.com"

    retagged = run_module(tags={"Project": "mensetsu"}, **plain)
    assert retagged["changed"] is True and retagged["changed_fields"] == ["Tags"]
    assert retagged["id"] == created["id"] and len(distributions(cloudfront)) == 1
    tags = cloudfront.list_tags_for_resource(Resource=created["arn"])["Tags"]["Items"]
    assert tags == [{"Key": "Project", "Value": "mensetsu"}]


def load_config_compare():
    spec = importlib.util.spec_from_file_location("config_compare", REPO / "module_utils" / "config_compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_field_aws_returns_is_compared_and_one_it_omits_is_not() -> None:
    """On AWS the OAC id is always returned, so a wrong one is a difference; moto omits it: no difference."""
    compare = load_config_compare()
    desired = {"Origins": {"Quantity": 1, "Items": [{"Id": "S3-site", "OriginAccessControlId": "E2NEW"}]}}
    from_aws = {"Origins": {"Quantity": 1, "Items": [{"Id": "S3-site", "OriginAccessControlId": "E1OLD"}]}}
    from_moto = {"Origins": {"Quantity": 1, "Items": [{"Id": "S3-site", "DomainName": "b.s3.amazonaws.com"}]}}
    assert list(compare.config_differences(desired, from_aws)) == ["Origins.Items"]
    assert compare.config_differences(desired, from_moto) == {}
    assert compare.config_differences({"Aliases": {"Items": ["b", "a"]}}, {"Aliases": {"Items": ["a", "b"]}}) == {}
    merged = compare.merge_config(from_aws | {"Comment": "kept"}, desired)
    assert merged["Origins"]["Items"] == [{"Id": "S3-site", "OriginAccessControlId": "E2NEW"}]
    assert merged["Comment"] == "kept"


def test_an_account_full_of_distributions_is_not_read_config_by_config(aws, boto, site) -> None:
    cloudfront = boto("cloudfront", "us-east-1")
    others = {other_projects_distribution(cloudfront, number) for number in range(4)}

    with aws.recording_requests() as requests:
        created = run_module(**site)
    assert created["changed"] is True
    assert distribution_configs_read(requests) & others == set(), "the lookup read other distributions' configurations"

    # Found by its comment again, then by its alias after the comment was changed by hand.
    with aws.recording_requests() as requests:
        again = run_module(**site)
    assert (again["changed"], again["id"]) == (False, created["id"])
    assert distribution_configs_read(requests) == {created["id"]}

    # The comment changed by hand and no alias: CloudFront refuses a second distribution with the
    # caller reference, and only then is every configuration read to find it.
    response = cloudfront.get_distribution_config(Id=created["id"])
    renamed = {**response["DistributionConfig"], "Comment": "renamed by hand"}
    cloudfront.update_distribution(Id=created["id"], IfMatch=response["ETag"], DistributionConfig=renamed)
    found = run_module(**site)
    assert (found["changed"], found["id"]) == (True, created["id"])
    assert cloudfront.get_distribution_config(Id=created["id"])["DistributionConfig"]["Comment"] == COMMENT
    assert len(distributions(cloudfront)) == 5


def test_web_acl_headers_policy_and_logging_are_managed_when_set(aws, boto, site) -> None:
    """WebACLId, the behaviour's ResponseHeadersPolicyId and the standard logging: set, kept (no
    write on a re-run), put back after an out-of-band change, and removed with empty strings."""
    cloudfront = boto("cloudfront", "us-east-1")
    acl = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/mensetsu-test-cloudfront/1"
    hardened = {
        **site,
        "web_acl_id": acl,
        "response_headers_policy_id": "policy-1",  # moto echoes any id (it has no policies)
        "logging_bucket": "mensetsu-test-logs",
        "logging_prefix": "cloudfront/",
    }
    created = run_module(**hardened)
    config = cloudfront.get_distribution_config(Id=created["id"])["DistributionConfig"]
    assert config["WebACLId"] == acl
    assert config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == "policy-1"
    assert config["Logging"] == {
        "Enabled": True,
        "IncludeCookies": False,
        "Bucket": "mensetsu-test-logs.s3.amazonaws.com",
        "Prefix": "cloudfront/",
    }
    with aws.recording_requests() as requests:
        assert run_module(**hardened)["changed"] is False
        assert run_module(check=True, **hardened)["changed"] is False
    assert writes(requests) == []

    # Out of band: the web ACL detached and the logs turned off; check mode reports both, the run puts them back.
    response = cloudfront.get_distribution_config(Id=created["id"])
    changed_by_hand = {
        **response["DistributionConfig"],
        "WebACLId": "",
        "Logging": {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""},
    }
    cloudfront.update_distribution(Id=created["id"], IfMatch=response["ETag"], DistributionConfig=changed_by_hand)
    planned = run_module(check=True, **hardened)
    assert planned["changed_fields"] == ["Logging.Bucket", "Logging.Enabled", "Logging.Prefix", "WebACLId"]
    assert cloudfront.get_distribution_config(Id=created["id"])["DistributionConfig"]["WebACLId"] == ""
    assert run_module(**hardened)["changed"] is True
    assert cloudfront.get_distribution_config(Id=created["id"])["DistributionConfig"]["WebACLId"] == acl

    # Empty strings detach the ACL, drop the policy and disable the logs (teardown's first step).
    detached = run_module(**{**hardened, "web_acl_id": "", "response_headers_policy_id": "", "logging_bucket": ""})
    assert detached["changed"] is True
    config = cloudfront.get_distribution_config(Id=created["id"])["DistributionConfig"]
    assert config["WebACLId"] == "" and config["Logging"]["Enabled"] is False
    assert not config["DefaultCacheBehavior"].get("ResponseHeadersPolicyId")


def test_a_no_op_reads_the_configuration_and_the_tags_together(aws, site) -> None:
    """ListDistributions, then the candidate's configuration and its tags side by side (issue 18)."""
    assert run_module(**site)["changed"] is True
    with LatencyProxy(aws.endpoint, delay_ms=300) as proxy, aws.recording_requests() as requests:
        again = module.run_module(
            "cloudfront_spa_distribution",
            {"comment": COMMENT, **site},
            env={"AWS_ENDPOINT_URL": proxy.endpoint, "AWS_MAX_ATTEMPTS": "1"},
        )
        counts = proxy.counts()
    assert again["changed"] is False and again["tags"] == TAGS, again
    assert writes(requests) == []
    assert (counts.requests, counts.max_in_flight) == (3, 2), counts.table()
