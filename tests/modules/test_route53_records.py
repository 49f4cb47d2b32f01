"""library/route53_records.py: many records of one hosted zone in one module run.

Against the moto server, run the way a playbook runs it (the amazon.aws rhythm): check mode
creates nothing, a real run writes every record in one ChangeResourceRecordSets, a re-run and a
check run read the zone once and write nothing, a record declared without the final dot or in
upper case is the same record, an out-of-band change is seen by check mode without a write and
put back, absent deletes only the declared records (with their current values), a second absent
changes nothing. moto keeps names and alias targets as they were sent; Route 53 answers with
names in lower case and escaped (\\052 for *), and alias DNS names in lower case with the final
dot: botocore's Stubber feeds the module those exact answers (docs/emulator.md).
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.playbook import JSON_OUTPUT, run_playbook, task_result_json
from tests.support.requests import writes

records_module = load_library_module("route53_records")
PLAYBOOK = "tests/modules/playbooks/route53_records.yml"
DOMAIN = "r53.example.test"
CLOUDFRONT = {"dns_name": "d111111abcdef8.cloudfront.net", "hosted_zone_id": "Z2FDTNDATAQYW2"}
ALB = {"dns_name": "mensetsu-test-alb-123.ap-northeast-1.elb.amazonaws.com", "hosted_zone_id": "Z14GRHDCWA56QT"}
VALIDATION = f"_3b2a.{DOMAIN}"


def declared() -> list[dict[str, Any]]:
    """The role's kinds of record, named without the final dot."""
    return [
        {"name": DOMAIN, "type": "A", "alias": CLOUDFRONT},
        {"name": DOMAIN, "type": "AAAA", "alias": CLOUDFRONT},
        {"name": f"api.{DOMAIN}", "type": "A", "alias": ALB},
        {"name": VALIDATION, "type": "CNAME", "ttl": 300, "values": ["_c4d5.acm-validations.aws."]},
        {"name": f"*.{DOMAIN}", "type": "TXT", "ttl": 300, "values": ["hello world"]},
    ]


def run_module(records: list[dict], check: bool = False, **variables: object) -> dict:
    extra = {"records": records, "zone_name": DOMAIN, **variables}
    return task_result_json(run_playbook(PLAYBOOK, extra_vars=extra, check=check, diff=True, env=JSON_OUTPUT))


def zone_records(route53, zone_id: str) -> dict[tuple[str, str], dict]:
    found = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {(item["Name"], item["Type"]): item for item in found if item["Type"] not in ("NS", "SOA")}


def rest_calls(requests) -> list[str]:
    """Route 53's REST requests as "METHOD last-path-part" (rrset, hostedzonesbyname)."""
    return [f"{request.method} {request.url.split('?')[0].rstrip('/').rsplit('/', 1)[-1]}" for request in requests]


def upsert(route53, zone_id: str, record_set: dict) -> None:
    change = {"Action": "UPSERT", "ResourceRecordSet": record_set}
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [change]})


def test_records_lifecycle_in_one_read_and_one_write(aws, boto) -> None:
    route53 = boto("route53", "us-east-1")
    zone_id = route53.create_hosted_zone(Name=DOMAIN, CallerReference="r53")["HostedZone"]["Id"].rsplit("/", 1)[-1]
    foreign = {"Name": f"other.{DOMAIN}.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.9"}]}
    upsert(route53, zone_id, foreign)

    with aws.recording_requests() as requests:
        planned = run_module(declared(), check=True)
    assert writes(requests) == [] and planned["changed"] is True
    assert [entry["action"] for entry in planned["results"]] == ["created"] * 5
    assert list(zone_records(route53, zone_id)) == [(f"other.{DOMAIN}.", "A")], "check mode wrote a record"

    with aws.recording_requests() as requests:
        created = run_module(declared())
    assert rest_calls(requests) == ["GET hostedzonesbyname", "GET rrset", "POST rrset"], rest_calls(requests)
    assert created["hosted_zone_id"] == zone_id
    assert [entry["label"] for entry in created["results"]] == [
        f"{DOMAIN} A",
        f"{DOMAIN} AAAA",
        f"api.{DOMAIN} A",
        f"{VALIDATION} CNAME",
        f"*.{DOMAIN} TXT",
    ]
    stored = zone_records(route53, zone_id)
    assert stored[(f"api.{DOMAIN}.", "A")]["AliasTarget"]["DNSName"] == ALB["dns_name"]
    assert "TTL" not in stored[(f"api.{DOMAIN}.", "A")]
    assert stored[(f"\\052.{DOMAIN}.", "TXT")]["ResourceRecords"] == [{"Value": '"hello world"'}]
    assert stored[(f"{VALIDATION}.", "CNAME")]["TTL"] == 300

    # The same records named with the final dot and in upper case are the same records.
    shouted = [{**record, "name": record["name"].upper() + "."} for record in declared()]
    with aws.recording_requests() as requests:
        again = run_module(declared())
        checked = run_module(shouted, check=True)
    assert again["changed"] is False and checked["changed"] is False, checked["results"]
    assert {entry["action"] for entry in again["results"] + checked["results"]} == {"unchanged"}
    assert rest_calls(requests) == ["GET hostedzonesbyname", "GET rrset"] * 2

    # Out of band: api made a plain A record, the validation record pointed elsewhere.
    upsert(route53, zone_id, {**foreign, "Name": f"api.{DOMAIN}.", "ResourceRecords": [{"Value": "198.51.100.7"}]})
    upsert(
        route53,
        zone_id,
        {"Name": f"{VALIDATION}.", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "elsewhere.test."}]},
    )
    with aws.recording_requests() as requests:
        seen = run_module(declared(), check=True, zone_id=zone_id, zone_name=None)
    assert writes(requests) == [] and seen["changed"] is True
    assert [entry["action"] for entry in seen["results"]] == [
        "unchanged",
        "unchanged",
        "updated",
        "updated",
        "unchanged",
    ]
    api, validation = seen["results"][2], seen["results"][3]
    assert api["diff"]["before"] == {
        "alias": False,
        "value": "198.51.100.7",
        "ttl": 60,
        "alias_hosted_zone_id": None,
        "alias_evaluate_target_health": None,
    }
    assert api["diff"]["after"]["value"] == ALB["dns_name"] + "." and api["hosted_zone_id"] == zone_id
    assert validation["diff"] == {
        "before": {"value": "elsewhere.test."},
        "after": {"value": "_c4d5.acm-validations.aws."},
    }
    assert zone_records(route53, zone_id)[(f"api.{DOMAIN}.", "A")]["ResourceRecords"] == [{"Value": "198.51.100.7"}]

    with aws.recording_requests() as requests:
        fixed = run_module(declared())
    assert rest_calls(requests) == ["GET hostedzonesbyname", "GET rrset", "POST rrset"], rest_calls(requests)
    assert [entry["changed"] for entry in fixed["results"]] == [False, False, True, True, False]
    assert zone_records(route53, zone_id)[(f"api.{DOMAIN}.", "A")]["AliasTarget"]["DNSName"] == ALB["dns_name"]
    assert run_module(declared(), check=True)["changed"] is False

    # Absent: the declared records that exist go (names and types only), the others stay.
    gone = [
        {"name": f"API.{DOMAIN}.", "type": "A"},
        {"name": VALIDATION, "type": "CNAME"},
        {"name": f"x.{DOMAIN}", "type": "A"},
    ]
    with aws.recording_requests() as requests:
        planned_removal = run_module(gone, check=True, records_state="absent")
    assert writes(requests) == [] and planned_removal["changed"] is True
    assert [entry["action"] for entry in planned_removal["results"]] == ["deleted", "deleted", "absent"]
    removed = run_module(gone, records_state="absent")
    assert [entry["action"] for entry in removed["results"]] == ["deleted", "deleted", "absent"]
    assert sorted(zone_records(route53, zone_id)) == sorted(
        [(f"{DOMAIN}.", "A"), (f"{DOMAIN}.", "AAAA"), (f"\\052.{DOMAIN}.", "TXT"), (f"other.{DOMAIN}.", "A")]
    )
    with aws.recording_requests() as requests:
        assert run_module(gone, records_state="absent")["changed"] is False
    assert writes(requests) == []


# --- AWS's own answers (botocore's Stubber validates each request against the service model) ---


def spec(name: str, record_type: str, **settings: Any) -> dict[str, Any]:
    """A record as the module's argument spec fills it."""
    return {"name": name, "type": record_type, "ttl": None, "values": None, "alias": None, **settings}


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("route53", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    return client, Stubber(client)


def converge(client: Any, records: list[dict], check: bool = False, state: str = "present", **params: Any) -> dict:
    task = TaskModule(
        {
            "hosted_zone_id": "Z0ZONE",
            "zone": None,
            "records": records,
            "state": state,
            "wait": False,
            "wait_timeout": 300,
            **params,
        },
        check_mode=check,
    )
    return records_module.converge(task, RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1)))


def page(*record_sets: dict, next_record: tuple[str, str] | None = None) -> dict:
    answer: dict[str, Any] = {
        "ResourceRecordSets": list(record_sets),
        "IsTruncated": next_record is not None,
        "MaxItems": "300",
    }
    if next_record:
        answer["NextRecordName"], answer["NextRecordType"] = next_record
    return answer


# What Route 53 answers for the records above: names lower case and escaped, alias DNS names lower
# case with the final dot (the ALB's name had capitals), TXT quoted, no TTL on an alias.
AWS_ALIAS = {
    "HostedZoneId": "Z14GRHDCWA56QT",
    "DNSName": "dualstack.my-alb-1.ap-northeast-1.elb.amazonaws.com.",
    "EvaluateTargetHealth": False,
}
AWS_ANSWER = [
    {"Name": "example.com.", "Type": "A", "AliasTarget": AWS_ALIAS},
    {"Name": "example.com.", "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1.awsdns-1.com."}]},
    {"Name": "\\052.example.com.", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": '"hello world"'}]},
]


def test_aws_answer_shapes_read_as_the_declared_records() -> None:
    client, stubber = stubbed()
    records = [
        spec(
            "Example.COM",
            "A",
            alias={
                "dns_name": "dualstack.My-ALB-1.ap-northeast-1.elb.amazonaws.com",
                "hosted_zone_id": "Z14GRHDCWA56QT",
                "evaluate_target_health": False,
            },
        ),
        spec("*.example.com", "TXT", ttl=300, values=["hello world"]),
    ]
    # One read from the first declared name in Route 53's order; no write is stubbed, so one would fail.
    stubber.add_response(
        "list_resource_record_sets",
        page(*AWS_ANSWER),
        {"HostedZoneId": "Z0ZONE", "StartRecordName": "example.com.", "MaxItems": "300"},
    )
    with stubber:
        result = converge(client, records)
    stubber.assert_no_pending_responses()
    assert result["changed"] is False, result["results"]
    assert [(entry["record"], entry["name"], entry["action"]) for entry in result["results"]] == [
        ("example.com", "example.com.", "unchanged"),
        ("*.example.com", "\\052.example.com.", "unchanged"),
    ]
    # Without dualstack. the alias is another target (AAAA answers differ): a change.
    client, stubber = stubbed()
    stubber.add_response("list_resource_record_sets", page(*AWS_ANSWER))
    with stubber:
        plain = converge(
            client,
            [
                spec(
                    "example.com",
                    "A",
                    alias={
                        **AWS_ALIAS,
                        "dns_name": "my-alb-1.ap-northeast-1.elb.amazonaws.com",
                        "hosted_zone_id": "Z14GRHDCWA56QT",
                        "evaluate_target_health": False,
                    },
                )
            ],
            check=True,
        )
    assert plain["results"][0]["diff"]["before"] == {"value": AWS_ALIAS["DNSName"]}


def test_paging_stops_after_the_last_declared_name_and_absent_deletes_the_current_values() -> None:
    client, stubber = stubbed()
    a_record = {"Name": "a.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}
    b_record = {"Name": "b.example.com.", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "c.example.net"}]}
    stubber.add_response(
        "list_resource_record_sets",
        page(a_record, next_record=("b.example.com.", "CNAME")),
        {"HostedZoneId": "Z0ZONE", "StartRecordName": "a.example.com.", "MaxItems": "300"},
    )
    stubber.add_response(
        "list_resource_record_sets",
        page(b_record, next_record=("c.example.com.", "A")),
        {"HostedZoneId": "Z0ZONE", "StartRecordName": "b.example.com.", "StartRecordType": "CNAME", "MaxItems": "300"},
    )
    # One batch, each record deleted as Route 53 holds it (DELETE must repeat the current values).
    stubber.add_response(
        "change_resource_record_sets",
        {"ChangeInfo": {"Id": "/change/C1", "Status": "PENDING", "SubmittedAt": "2026-12-06T00:00:00Z"}},
        {
            "HostedZoneId": "Z0ZONE",
            "ChangeBatch": {
                "Comment": "route53_records",
                "Changes": [
                    {"Action": "DELETE", "ResourceRecordSet": b_record},
                    {"Action": "DELETE", "ResourceRecordSet": a_record},
                ],
            },
        },
    )
    with stubber:
        result = converge(client, [spec("B.example.com", "CNAME"), spec("a.example.com.", "A")], state="absent")
    stubber.assert_no_pending_responses()
    assert [entry["action"] for entry in result["results"]] == ["deleted", "deleted"]
    assert result["change_id"] == "/change/C1"
    assert result["diff"]["before"]["b.example.com CNAME"]["value"] == "c.example.net."


def test_a_refused_batch_and_a_bad_declaration_name_the_records() -> None:
    client, stubber = stubbed()
    stubber.add_response("list_resource_record_sets", page())
    stubber.add_client_error(
        "change_resource_record_sets",
        "InvalidChangeBatch",
        "RRSet of type CNAME with DNS name example.com. is not permitted at apex in zone example.com.",
    )
    with stubber, pytest.raises(ModuleFailed, match=r"example\.com CNAME .*InvalidChangeBatch"):
        converge(client, [spec("example.com", "CNAME", values=["x.example.net"])])
    with pytest.raises(ModuleFailed, match=re.escape("record WWW.example.com. A is declared more than once")):
        converge(
            client,
            [spec("www.example.com", "A", values=["192.0.2.1"]), spec("WWW.example.com.", "A", values=["192.0.2.2"])],
        )
    with pytest.raises(ModuleFailed, match=re.escape("record api.example.com A: an alias has no ttl nor values")):
        converge(client, [spec("api.example.com", "A", ttl=60, alias=CLOUDFRONT | {"evaluate_target_health": False})])


def test_zone_by_name_is_the_public_one() -> None:
    client, stubber = stubbed()
    zones = [
        {"Id": "/hostedzone/ZPRIVATE", "Name": "example.com.", "CallerReference": "p", "Config": {"PrivateZone": True}},
        {"Id": "/hostedzone/ZPUBLIC", "Name": "example.com.", "CallerReference": "q", "Config": {"PrivateZone": False}},
    ]
    stubber.add_response(
        "list_hosted_zones_by_name",
        {"HostedZones": zones, "IsTruncated": False, "MaxItems": "100"},
        {"DNSName": "example.com.", "MaxItems": "100"},
    )
    stubber.add_response(
        "list_resource_record_sets",
        page(),
        {"HostedZoneId": "ZPUBLIC", "StartRecordName": "www.example.com.", "MaxItems": "300"},
    )
    with stubber:
        result = converge(
            client,
            [spec("www.example.com", "A", values=["192.0.2.1"])],
            check=True,
            hosted_zone_id=None,
            zone="Example.com",
        )
    assert result["hosted_zone_id"] == "ZPUBLIC" and result["results"][0]["action"] == "created"


def test_the_read_starts_at_the_first_declared_name_in_route53_order() -> None:
    """Route 53 lists names by their labels reversed, in ASCII order of the characters themselves
    (its API reference: `*`, 42, sorts before the digits and `.`), not of the \\052 escape it answers."""
    client, stubber = stubbed()
    wildcard = {"Name": "\\052.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}
    stubber.add_response(
        "list_resource_record_sets",
        page(wildcard, next_record=("0.example.com.", "A")),
        {"HostedZoneId": "Z0ZONE", "StartRecordName": "\\052.example.com.", "MaxItems": "300"},
    )
    stubber.add_response(
        "list_resource_record_sets",
        page({**wildcard, "Name": "0.example.com."}, next_record=("00.example.com.", "A")),
        {"HostedZoneId": "Z0ZONE", "StartRecordName": "0.example.com.", "StartRecordType": "A", "MaxItems": "300"},
    )
    with stubber:
        result = converge(
            client,
            [
                spec("0.example.com", "A", ttl=60, values=["192.0.2.1"]),
                spec("*.example.com", "A", ttl=60, values=["192.0.2.1"]),
            ],
        )
    stubber.assert_no_pending_responses()
    assert [entry["action"] for entry in result["results"]] == ["unchanged", "unchanged"]
