"""library/wafv2_managed_web_acl.py: its functions in the test process, against the moto server.

moto 5.2.5 holds WAFv2 web ACLs (both scopes), their logging configuration and regional
associations, and checks the LockToken. The rhythm of every module: check mode writes nothing, a
second run sends no write, an out-of-band change (the rate limit) is reported by check mode and put
back, removal (check mode first). AWS adds fields moto does not (a rate rule's EvaluationWindowSec):
a rule as AWS returns it is compared without the network. About 2 s in all.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from latency_proxy import LatencyProxy

waf = load_library_module("wafv2_managed_web_acl")
NAME = "mensetsu-test-cloudfront"
LOG_GROUP = "aws-waf-logs-mensetsu-test-cloudfront"
TAGS = {"Project": "mensetsu", "Environment": "test"}


class Task(TaskModule):
    region = "us-east-1"


def task(check_mode: bool = False, **params: Any) -> Task:
    return Task(
        {
            "state": "present",
            "name": NAME,
            "scope": "CLOUDFRONT",
            "description": "",
            "managed_rule_groups": [
                "AWSManagedRulesCommonRuleSet",
                "AWSManagedRulesKnownBadInputsRuleSet",
                "AWSManagedRulesAmazonIpReputationList",
            ],
            "rate_limit": 2000,
            "log_destination_arn": None,
            "resource_arns": [],
            "tags": TAGS,
            "purge_tags": True,
            **params,
        },
        check_mode=check_mode,
    )


@pytest.fixture
def wafv2(boto):
    return RetryingBotoClientWrapper(boto("wafv2", "us-east-1"), AWSRetry.jittered_backoff(retries=1))


def run(client: Any, check_mode: bool = False, **params: Any) -> dict:
    acl = waf.ManagedWebAcl(task(check_mode=check_mode, **params), client)
    return acl.ensure_present() if acl.params["state"] == "present" else acl.ensure_absent()


def test_cloudfront_acl_lifecycle_with_logging_and_drift(aws, boto, wafv2) -> None:
    logs = boto("logs", "us-east-1")
    logs.create_log_group(logGroupName=LOG_GROUP)
    log_arn = logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"][0]["arn"].removesuffix(":*")
    settings = {"log_destination_arn": log_arn}

    with aws.recording_requests() as requests:
        planned = run(wafv2, check_mode=True, **settings)
    assert (planned["changed"], planned["arn"]) == (True, "")
    assert writes(requests) == []
    assert wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] == []

    created = run(wafv2, **settings)
    assert created["changed"] is True
    summary = wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"][0]
    acl = wafv2.get_web_acl(Name=NAME, Scope="CLOUDFRONT", Id=summary["Id"])["WebACL"]
    assert acl["ARN"] == created["arn"] and acl["DefaultAction"] == {"Allow": {}}
    assert acl["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    groups = [rule["Statement"]["ManagedRuleGroupStatement"]["Name"] for rule in acl["Rules"][:3]]
    assert groups == task().params["managed_rule_groups"]
    rate = acl["Rules"][3]
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": 2000, "AggregateKeyType": "IP"}
    assert rate["Action"] == {"Block": {}}
    assert [rule["Priority"] for rule in acl["Rules"]] == [0, 1, 2, 3]
    logging = wafv2.get_logging_configuration(ResourceArn=created["arn"])["LoggingConfiguration"]
    assert logging["LogDestinationConfigs"] == [log_arn]

    with aws.recording_requests() as requests:
        again = run(wafv2, **settings)
        checked = run(wafv2, check_mode=True, **settings)
    assert (again["changed"], checked["changed"]) == (False, False), (again, checked)
    assert writes(requests) == []

    # Out of band: the rate limit raised by hand. Check mode reports it, writes nothing; a run puts it back.
    current = wafv2.get_web_acl(Name=NAME, Scope="CLOUDFRONT", Id=summary["Id"])
    rules = copy.deepcopy(current["WebACL"]["Rules"])
    rules[3]["Statement"]["RateBasedStatement"]["Limit"] = 100000
    wafv2.update_web_acl(
        Name=NAME,
        Scope="CLOUDFRONT",
        Id=summary["Id"],
        DefaultAction={"Allow": {}},
        Rules=rules,
        VisibilityConfig=current["WebACL"]["VisibilityConfig"],
        LockToken=current["LockToken"],
    )
    with aws.recording_requests() as requests:
        drift = run(wafv2, check_mode=True, **settings)
    assert drift["changed_fields"] == ["Rules.rate-limit-per-ip"]
    assert drift["diff"]["before"]["Rules.rate-limit-per-ip"]["Statement"]["RateBasedStatement"]["Limit"] == 100000
    assert writes(requests) == []
    assert run(wafv2, **settings)["changed"] is True
    acl = wafv2.get_web_acl(Name=NAME, Scope="CLOUDFRONT", Id=summary["Id"])["WebACL"]
    assert acl["Rules"][3]["Statement"]["RateBasedStatement"]["Limit"] == 2000

    absent = {"state": "absent"}
    assert run(wafv2, check_mode=True, **absent)["changed"] is True
    assert len(wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"]) == 1, "check mode deleted the ACL"
    assert run(wafv2, **absent)["changed"] is True
    assert wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"] == []
    assert run(wafv2, **absent)["changed"] is False


def test_regional_acl_is_associated_with_the_load_balancer(aws, boto) -> None:
    wafv2 = RetryingBotoClientWrapper(boto("wafv2", "ap-northeast-1"), AWSRetry.jittered_backoff(retries=1))
    alb = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/mensetsu-test/50dc6c495c0c9188"
    regional = {"name": "mensetsu-test-alb", "scope": "REGIONAL", "resource_arns": [alb]}
    planned = run(wafv2, check_mode=True, **regional)
    assert planned["changed"] is True and wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"] == []
    created = run(wafv2, **regional)
    assert wafv2.get_web_acl_for_resource(ResourceArn=alb)["WebACL"]["ARN"] == created["arn"]
    assert run(wafv2, **regional)["changed"] is False
    wafv2.disassociate_web_acl(ResourceArn=alb)
    assert run(wafv2, check_mode=True, **regional)["changed_fields"] == [f"Association.{alb}"]
    assert run(wafv2, **regional)["changed"] is True
    removed = run(wafv2, state="absent", **regional)
    assert removed["changed_fields"] == [f"Association.{alb}"]
    assert wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"] == []


def test_fields_aws_adds_are_not_differences_but_a_changed_action_is() -> None:
    desired = waf.ManagedWebAcl(task(), client=None).desired()
    # GetWebACL on AWS: the rate rule carries EvaluationWindowSec, the ACL a capacity and a label namespace.
    from_aws = copy.deepcopy(desired)
    from_aws["Rules"][3]["Statement"]["RateBasedStatement"]["EvaluationWindowSec"] = 300
    from_aws.update({"Capacity": 927, "LabelNamespace": f"awswaf:123456789012:webacl:{NAME}:", "Id": "a", "ARN": "b"})
    assert waf.acl_differences(desired, from_aws) == {}
    counted = copy.deepcopy(from_aws)
    counted["Rules"][0]["OverrideAction"] = {"Count": {}}
    assert list(waf.acl_differences(desired, counted)) == ["Rules.AWS-AWSManagedRulesCommonRuleSet"]
    blocking = {**from_aws, "DefaultAction": {"Block": {}}}
    assert list(waf.acl_differences(desired, blocking)) == ["DefaultAction"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rate_limit": 5}, "rate_limit must be 0"),
        ({"log_destination_arn": "arn:aws:logs:us-east-1:123456789012:log-group:waf"}, "aws-waf-logs-"),
        (
            {"resource_arns": ["arn:aws:cloudfront::123456789012:distribution/E1"]},
            "resource_arns are for scope REGIONAL",
        ),
    ],
)
def test_bad_input_stops_before_any_request(params: dict, message: str) -> None:
    with pytest.raises(ModuleFailed, match=message):
        waf.validate(task(**params))


def test_cloudfront_scope_outside_us_east_1_is_refused() -> None:
    module = task()
    module.region = "ap-northeast-1"
    with pytest.raises(ModuleFailed, match="needs region us-east-1"):
        waf.validate(module)


def test_a_no_op_reads_the_acl_its_tags_and_its_logging_together(aws, boto, wafv2) -> None:
    logs = boto("logs", "us-east-1")
    logs.create_log_group(logGroupName=LOG_GROUP)
    log_arn = logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"][0]["arn"].removesuffix(":*")
    assert run(wafv2, log_destination_arn=log_arn)["changed"] is True
    # 300 ms a request: reads sent together overlap even when a loaded machine starts a thread late.
    with LatencyProxy(aws.endpoint, delay_ms=300) as proxy:
        raw = boto3.client("wafv2", region_name="us-east-1", endpoint_url=proxy.endpoint)
        result = run(RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1)), log_destination_arn=log_arn)
        counts = proxy.counts()
    assert result["changed"] is False, result
    # ListWebACLs, then GetWebACL, ListTagsForResource and GetLoggingConfiguration side by side.
    assert counts.requests == 4, counts.table()
    assert counts.max_in_flight == 3, counts.table()
