"""library/sns_topic_by_arn.py against the moto server, run as a playbook's task runs it (tests/support/module.py;
one re-run through a real playbook), and against AWS's own answers where moto differs (botocore's Stubber).

The amazon.aws rhythm: check mode on a topic that does not exist yet (changed, nothing created:
community.aws.sns_topic failed there), create, re-run and check run (unchanged: three reads, no
write), out-of-band changes of the display name, the policy, the subscriptions and the tags seen by
check mode without a write and put back, an equivalent policy left alone, then absent.
"""

from __future__ import annotations

import json

import boto3
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from tests.support import module
from tests.support.library_code import load_library_module
from tests.support.moto import REGION
from tests.support.requests import writes

topic_module = load_library_module("sns_topic_by_arn")
NAME = "mensetsu-test-alerts"
ARN = f"arn:aws:sns:{REGION}:123456789012:{NAME}"
TAGS = {"Project": "mensetsu", "Environment": "test"}
EMAIL = "ops@mensetsu.example.com"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AwsBudgetsPublishes",
            "Effect": "Allow",
            "Principal": {"Service": "budgets.amazonaws.com"},
            "Action": "SNS:Publish",
            "Resource": ARN,
        }
    ],
}
DECLARED = {
    "display_name": "mensetsu-test alerts",
    "policy": POLICY,
    "subscriptions": [{"protocol": "email", "endpoint": EMAIL}],
    "tags": TAGS,
}


def run_module(check: bool = False, playbook: bool = False, **args: object) -> dict:
    """The task's result for the module's options `args` (arn: ARN); `playbook`: through ansible-playbook."""
    return (module.play_module if playbook else module.run_module)(
        "sns_topic_by_arn", {"arn": ARN, **args}, check=check, env={"AWS_MAX_ATTEMPTS": "1"}
    )


def subscriptions(sns) -> list[tuple[str, str]]:
    return sorted(
        (s["Protocol"], s["Endpoint"]) for s in sns.list_subscriptions_by_topic(TopicArn=ARN)["Subscriptions"]
    )


def topics(sns) -> list[str]:
    return [topic["TopicArn"] for topic in sns.list_topics()["Topics"]]


def test_topic_lifecycle(aws, boto) -> None:
    sns = boto("sns")

    with aws.recording_requests() as requests:
        planned = run_module(check=True, **DECLARED)
    assert writes(requests) == [] and topics(sns) == [], "check mode created the topic"
    assert planned["changed"] is True and planned["changes"] == ["create", "subscribe"]
    assert planned["diff"]["after"]["subscriptions"] == [f"email:{EMAIL}"] and planned["diff"]["before"] == {}

    created = run_module(**DECLARED)
    assert created["changed"] is True and created["topic_arn"] == ARN and topics(sns) == [ARN]
    attributes = sns.get_topic_attributes(TopicArn=ARN)["Attributes"]
    assert attributes["DisplayName"] == "mensetsu-test alerts" and json.loads(attributes["Policy"]) == POLICY
    assert subscriptions(sns) == [("email", EMAIL)]
    tags = sns.list_tags_for_resource(ResourceArn=ARN)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == TAGS

    # Converged: the topic read by its ARN, three reads (no ListTopics), no write; in check mode too.
    with aws.recording_requests() as requests:
        assert run_module(playbook=True, **DECLARED)["changed"] is False
        assert run_module(check=True, **DECLARED)["changed"] is False
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert sorted(request.action for request in requests) == sorted(
        ["GetTopicAttributes", "ListSubscriptionsByTopic", "ListTagsForResource"] * 2
    )

    # The same policy written with its members in another order and a one-item list: the same policy.
    statement = {**POLICY["Statement"][0], "Action": ["SNS:Publish"]}
    sns.set_topic_attributes(
        TopicArn=ARN,
        AttributeName="Policy",
        AttributeValue=json.dumps({"Statement": [statement], "Version": "2012-10-17"}),
    )
    assert run_module(check=True, **DECLARED)["changed"] is False

    # Out of band: another display name and policy, a second subscription, a tag more and one changed.
    sns.set_topic_attributes(TopicArn=ARN, AttributeName="DisplayName", AttributeValue="changed by hand")
    sns.set_topic_attributes(
        TopicArn=ARN, AttributeName="Policy", AttributeValue=json.dumps({**POLICY, "Statement": []})
    )
    sns.subscribe(TopicArn=ARN, Protocol="email", Endpoint="someone@example.com")
    sns.tag_resource(ResourceArn=ARN, Tags=[{"Key": "Owner", "Value": "someone"}, {"Key": "Project", "Value": "x"}])
    with aws.recording_requests() as requests:
        seen = run_module(check=True, **DECLARED)
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert seen["changes"] == ["display name", "policy", "unsubscribe", "tag", "untag"]
    before, after = seen["diff"]["before"], seen["diff"]["after"]
    assert (before["display_name"], after["display_name"]) == ("changed by hand", "mensetsu-test alerts")
    assert before["subscriptions"] == sorted(["email:someone@example.com", f"email:{EMAIL}"])
    assert after["subscriptions"] == [f"email:{EMAIL}"] and after["tags"] == TAGS

    put_back = run_module(**DECLARED)
    assert put_back["changed"] is True
    attributes = sns.get_topic_attributes(TopicArn=ARN)["Attributes"]
    assert attributes["DisplayName"] == "mensetsu-test alerts" and json.loads(attributes["Policy"]) == POLICY
    assert subscriptions(sns) == [("email", EMAIL)]
    tags = sns.list_tags_for_resource(ResourceArn=ARN)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == TAGS
    assert run_module(**DECLARED)["changed"] is False

    # What the task leaves out is left alone: no subscriptions, no tags declared, nothing read of them.
    with aws.recording_requests() as requests:
        assert run_module(display_name="mensetsu-test alerts")["changed"] is False
    assert [request.action for request in requests] == ["GetTopicAttributes"]

    assert run_module(check=True, state="absent")["changes"] == ["delete"]
    assert topics(sns) == [ARN], "check mode deleted the topic"
    assert run_module(state="absent")["changed"] is True
    assert topics(sns) == []
    assert run_module(state="absent")["changed"] is False


def test_an_arn_that_is_not_a_topic_s_stops_before_any_request(aws) -> None:
    with aws.recording_requests() as requests:
        failed = module.run_module("sns_topic_by_arn", {"arn": NAME}, failures=1)
    assert "arn:" in failed["msg"] and requests == []


def stubbed() -> tuple[object, object]:
    raw = boto3.client("sns", region_name=REGION, aws_access_key_id="stubbed", aws_secret_access_key="stubbed")
    return raw, RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1))


def params(**changes: object) -> dict:
    return {"purge_subscriptions": True, "purge_tags": True, **DECLARED, **changes}


def test_a_pending_e_mail_subscription_counts_as_there_and_one_not_declared_is_left_alone() -> None:
    """AWS's answer (moto confirms an e-mail subscription at once, docs/emulator.md): until the
    recipient confirms, ListSubscriptionsByTopic lists it with SubscriptionArn PendingConfirmation,
    and such a subscription cannot be removed (it has no ARN). The declared one is not subscribed
    again (AWS would send another confirmation e-mail each run); the old address waiting for its
    confirmation after the operator's address changed is not an unsubscribe either."""
    raw, client = stubbed()
    pending = [
        {"SubscriptionArn": "PendingConfirmation", "Owner": "123456789012", "Protocol": "email", "Endpoint": EMAIL},
        {
            "SubscriptionArn": "PendingConfirmation",
            "Owner": "123456789012",
            "Protocol": "email",
            "Endpoint": "old@mensetsu.example.com",
            "TopicArn": ARN,
        },
    ]
    with Stubber(raw) as stubber:
        stubber.add_response("list_subscriptions_by_topic", {"Subscriptions": pending}, {"TopicArn": ARN})
        found = topic_module.read_subscriptions(client, ARN)
        stubber.assert_no_pending_responses()
    current = {"display_name": DECLARED["display_name"], "policy": POLICY, "subscriptions": found, "tags": TAGS}
    after = topic_module.wanted(params(), current)
    assert topic_module.plan(topic_module.shown(current), after) == []
    assert after["subscriptions"] == ["email:old@mensetsu.example.com", f"email:{EMAIL}"]

    # Confirmed, the old address has an ARN: then it is removed.
    confirmed = {**found, "email:old@mensetsu.example.com": f"{ARN}:0a1b2c3d-1111-2222-3333-444455556666"}
    current = {**current, "subscriptions": confirmed}
    after = topic_module.wanted(params(), current)
    assert topic_module.plan(topic_module.shown(current), after) == ["unsubscribe"]


def test_a_topic_that_does_not_exist_answers_not_found_and_is_planned() -> None:
    """AWS answers GetTopicAttributes on a topic it does not know with NotFound (HTTP 404)."""
    raw, client = stubbed()
    with Stubber(raw) as stubber:
        stubber.add_client_error(
            "get_topic_attributes",
            "NotFound",
            "Topic does not exist",
            http_status_code=404,
            expected_params={"TopicArn": ARN},
        )
        assert topic_module.read_topic(client, ARN, subscriptions=False, tags=False) is None
        stubber.assert_no_pending_responses()
    assert topic_module.plan(None, topic_module.wanted(params(), None)) == ["create", "subscribe"]
