"""library/acm_certificate_request.py against the moto server, run as a role's task runs it
(tests/support/module.py; the re-run once through a real playbook).

The amazon.aws rhythm: check mode (changed, nothing requested), real run (waits for ISSUED and
returns the DNS validation records), re-run (same certificate, not one mutating request), tag
update (check mode first), delete (check mode first). The fixture's moto issues certificates
after MOTO_ACM_VALIDATION_WAIT=1 s.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.support import module
from tests.support.playbook import REPO
from tests.support.requests import writes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from latency_proxy import LatencyProxy

DOMAIN = "interview.example.com"
NAMES = [DOMAIN, f"www.{DOMAIN}"]
CLOUDFRONT = {
    "domain_name": DOMAIN,
    "subject_alternative_names": [f"www.{DOMAIN}"],
    "region": "us-east-1",
    "tags": {"Name": "mensetsu-test-cloudfront", "Project": "mensetsu"},
}


def run_module(acm: dict, check: bool = False, playbook: bool = False) -> dict:
    """The task's result for the module's options `acm`; `playbook`: through ansible-playbook (with the
    play's recap as `stats`)."""
    return (module.play_module if playbook else module.run_module)("acm_certificate_request", acm, check=check)


def certificates(acm_client) -> list[dict]:
    return acm_client.list_certificates()["CertificateSummaryList"]


def tags_of(acm_client, arn: str) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value") for tag in acm_client.list_tags_for_certificate(CertificateArn=arn)["Tags"]}


def test_certificate_lifecycle_in_us_east_1(aws, boto) -> None:
    acm_us = boto("acm", "us-east-1")
    acm_stack = boto("acm")

    planned = run_module({**CLOUDFRONT, "wait": True}, check=True)
    assert planned["changed"] is True
    assert planned["certificate_arn"] is None
    assert planned["diff"]["after"]["subject_alternative_names"] == NAMES
    assert certificates(acm_us) == [], "check mode requested a certificate"

    issued = run_module({**CLOUDFRONT, "wait": True})
    assert issued["changed"] is True
    assert issued["status"] == "ISSUED" and issued["region"] == "us-east-1"
    arn = issued["certificate_arn"]
    assert arn.startswith("arn:aws:acm:us-east-1:")
    described = acm_us.describe_certificate(CertificateArn=arn)["Certificate"]
    assert described["Status"] == "ISSUED"
    assert sorted(described["SubjectAlternativeNames"]) == NAMES
    assert certificates(acm_stack) == [], "the certificate landed outside us-east-1"
    assert tags_of(acm_us, arn) == CLOUDFRONT["tags"]
    records = issued["validation_records"]
    assert [record["domain_name"] for record in records] == NAMES
    for record in records:
        assert record["type"] == "CNAME"
        assert record["name"].endswith(f"{record['domain_name']}.")
        assert record["value"]

    with aws.recording_requests() as requests:
        again = run_module({**CLOUDFRONT, "wait": True}, playbook=True)
    assert again["stats"]["changed"] == 0
    assert again["certificate_arn"] == arn
    assert again["validation_records"] == records
    assert writes(requests) == []
    assert len(certificates(acm_us)) == 1

    with aws.recording_requests() as requests:
        checked = run_module(CLOUDFRONT, check=True)
    assert checked["changed"] is False
    assert writes(requests) == []

    retagged = {**CLOUDFRONT, "tags": {"Name": "mensetsu-test-cloudfront", "Environment": "test"}}
    planned_tags = run_module(retagged, check=True)
    assert planned_tags["changed"] is True
    assert planned_tags["diff"]["before"]["tags"] == CLOUDFRONT["tags"]
    assert planned_tags["diff"]["after"]["tags"] == retagged["tags"]
    assert tags_of(acm_us, arn) == CLOUDFRONT["tags"], "check mode changed the tags"

    updated = run_module(retagged)
    assert updated["changed"] is True and updated["certificate_arn"] == arn
    assert tags_of(acm_us, arn) == retagged["tags"]

    planned_delete = run_module({**retagged, "state": "absent"}, check=True)
    assert planned_delete["changed"] is True
    assert len(certificates(acm_us)) == 1, "check mode deleted the certificate"

    deleted = run_module({**retagged, "state": "absent"})
    assert deleted["changed"] is True and deleted["deleted_arns"] == [arn]
    assert certificates(acm_us) == []

    with aws.recording_requests() as requests:
        gone = run_module({**retagged, "state": "absent"})
    assert gone["changed"] is False
    assert writes(requests) == []


def test_other_names_or_name_tag_or_region_mean_another_certificate(aws, boto) -> None:
    acm_us = boto("acm", "us-east-1")
    first = run_module(CLOUDFRONT)
    # Without wait the records are there at once, whatever the status.
    assert {record["domain_name"] for record in first["validation_records"]} == set(NAMES)

    api = run_module({**CLOUDFRONT, "subject_alternative_names": [f"api.{DOMAIN}"], "tags": {"Name": "alb"}})
    assert api["changed"] is True and api["certificate_arn"] != first["certificate_arn"]

    renamed = run_module({**CLOUDFRONT, "tags": {"Name": "another-distribution"}})
    assert renamed["changed"] is True and renamed["certificate_arn"] != first["certificate_arn"]
    assert len(certificates(acm_us)) == 3

    # No region option: the certificate goes to the stack's region (the environment's AWS_REGION).
    regional = run_module({key: value for key, value in CLOUDFRONT.items() if key != "region"})
    assert regional["changed"] is True and regional["region"] == "ap-northeast-1"
    assert [cert["CertificateArn"] for cert in certificates(boto("acm"))] == [regional["certificate_arn"]]


def test_late_validation_records_are_polled_for_a_bounded_time() -> None:
    """ACM publishes the records a moment after the request; the module's poll waits for them, not for ever."""
    spec = importlib.util.spec_from_file_location("polling", REPO / "module_utils" / "polling.py")
    polling = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(polling)
    pending = {"DomainValidationOptions": [{"DomainName": DOMAIN}]}
    ready = {"DomainValidationOptions": [{"DomainName": DOMAIN, "ResourceRecord": {"Name": "_x", "Value": "_y"}}]}
    answers = iter([pending, pending, ready])
    slept: list[float] = []

    def has_records(certificate: dict) -> bool:
        return all("ResourceRecord" in option for option in certificate["DomainValidationOptions"])

    assert polling.poll_until(lambda: next(answers), has_records, timeout=60, sleep=slept.append) == ready
    assert slept == [1.0, 1.5]  # short at first, growing

    with pytest.raises(polling.PollTimeout) as timed_out:
        polling.poll_until(lambda: pending, has_records, timeout=0, sleep=slept.append)
    assert timed_out.value.last == pending


def test_a_no_op_reads_each_candidate_s_details_and_tags_together(aws, boto) -> None:
    first = run_module({**CLOUDFRONT, "wait": True})
    # 300 ms a request: reads sent together overlap even when a loaded machine starts a thread late.
    with LatencyProxy(aws.endpoint, delay_ms=300) as proxy:
        again = module.run_module(
            "acm_certificate_request", {**CLOUDFRONT, "wait": True}, env={"AWS_ENDPOINT_URL": proxy.endpoint}
        )
        counts = proxy.counts()
    assert (again["changed"], again["certificate_arn"]) == (False, first["certificate_arn"])
    # ListCertificates, then DescribeCertificate and ListTagsForCertificate side by side.
    assert counts.requests == 3, counts.table()
    assert counts.max_in_flight == 2, counts.table()


ALB = {
    "domain_name": f"api.{DOMAIN}",
    "subject_alternative_names": [],
    "region": "ap-northeast-1",
    "tags": {"Name": "mensetsu-test-alb", "Project": "mensetsu"},
}


def test_several_certificates_are_read_together_and_each_has_its_result(aws, boto) -> None:
    """certificates (roles/aws_certificates: CloudFront's in us-east-1 and the ALB's in the stack's
    region, one task): both regions' lists at once, then every candidate's details and tags at once,
    so two certificates cost the round trips of one; one result each, in order, as the role reads them."""
    args = {"certificates": [CLOUDFRONT, ALB], "state": "present"}
    planned = run_module(args, check=True)
    assert planned["changed"] is True and [r["certificate_arn"] for r in planned["results"]] == [None, None]
    assert {certificate["region"] for certificate in planned["results"]} == {"us-east-1", "ap-northeast-1"}
    assert certificates(boto("acm", "us-east-1")) == [] and certificates(boto("acm", "ap-northeast-1")) == []
    requested = run_module({**args, "wait": True})
    assert requested["changed"] is True
    (cloudfront,) = certificates(boto("acm", "us-east-1"))
    (alb,) = certificates(boto("acm", "ap-northeast-1"))
    assert [r["certificate_arn"] for r in requested["results"]] == [cloudfront["CertificateArn"], alb["CertificateArn"]]
    assert all(r["drift_kind"] == "acm_certificate_request" and r["validation_records"] for r in requested["results"])
    with LatencyProxy(aws.endpoint, delay_ms=300) as proxy, aws.recording_requests() as recorded:
        again = module.run_module("acm_certificate_request", args, env={"AWS_ENDPOINT_URL": proxy.endpoint})
        counts = proxy.counts()
    assert again["changed"] is False and writes(recorded) == []
    assert [r["status"] for r in again["results"]] == ["ISSUED", "ISSUED"]
    # Two ListCertificates at once, then two DescribeCertificate and two ListTagsForCertificate at once.
    assert counts.requests == 6, counts.table()
    assert counts.max_in_flight == 4, counts.table()
    # A tag changed by hand on one of them: that one's result changes, in check mode without a write.
    boto("acm", "ap-northeast-1").add_tags_to_certificate(
        CertificateArn=alb["CertificateArn"], Tags=[{"Key": "Owner", "Value": "someone"}]
    )
    with aws.recording_requests() as recorded:
        drift = run_module(args, check=True)
    assert writes(recorded) == [] and [r["changed"] for r in drift["results"]] == [False, True]
    assert list(drift["diff"]["after"]) == [f"api.{DOMAIN} (ap-northeast-1)"]
    refused = module.run_module("acm_certificate_request", {**args, "state": "absent"}, failures=1)
    assert "certificates: only with state=present" in refused["msg"]
