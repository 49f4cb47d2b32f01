"""library/log_group.py against the moto server, run the way a playbook runs it.

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run and check run
(unchanged, no mutating request), an out-of-band retention and tag change seen by check mode
without a write (amazon.aws.cloudwatchlogs_log_group writes the retention in check mode) and put
back, a retention its list lacks (1096 days) set without losing the group, delete.
"""

from __future__ import annotations

from tests.support.playbook import JSON_OUTPUT as PLAYBOOK_JSON_OUTPUT
from tests.support.playbook import run_playbook, task_result_json
from tests.support.requests import writes

PLAYBOOK = "tests/modules/playbooks/log_group.yml"
JSON_OUTPUT = {**PLAYBOOK_JSON_OUTPUT, "AWS_MAX_ATTEMPTS": "1"}
NAME = "/mensetsu/test/ssm-sessions"
TAGS = {"Project": "mensetsu", "Environment": "test"}


def run_module(check: bool = False, **variables: object) -> dict:
    run = run_playbook(PLAYBOOK, extra_vars={"group_name": NAME, **variables}, check=check, diff=True, env=JSON_OUTPUT)
    return task_result_json(run)


def groups(logs) -> list[dict]:
    return logs.describe_log_groups(logGroupNamePrefix=NAME)["logGroups"]


def test_log_group_lifecycle(aws, boto) -> None:
    logs = boto("logs", "ap-northeast-1")

    planned = run_module(check=True, group_retention=90, group_tags=TAGS)
    assert planned["changed"] is True and planned["diff"]["after"]["retention_days"] == 90
    assert groups(logs) == [], "check mode created the log group"

    created = run_module(group_retention=90, group_tags=TAGS)
    assert created["changed"] is True
    (group,) = groups(logs)
    assert group["retentionInDays"] == 90
    assert logs.list_tags_for_resource(resourceArn=created["log_group"]["arn"])["tags"] == TAGS

    with aws.recording_requests() as requests:
        assert run_module(group_retention=90, group_tags=TAGS)["changed"] is False
        assert run_module(check=True, group_retention=90, group_tags=TAGS)["changed"] is False
    assert writes(requests) == [], [str(request) for request in writes(requests)]

    # Out of band: a shorter retention and a tag more. Check mode sees both and writes nothing.
    logs.put_retention_policy(logGroupName=NAME, retentionInDays=1)
    logs.tag_resource(resourceArn=created["log_group"]["arn"], tags={"Owner": "someone"})
    with aws.recording_requests() as requests:
        seen = run_module(check=True, group_retention=90, group_tags=TAGS)
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert seen["changed"] is True
    assert (seen["diff"]["before"]["retention_days"], seen["diff"]["after"]["retention_days"]) == (1, 90)
    assert "Owner" in seen["diff"]["before"]["tags"] and "Owner" not in seen["diff"]["after"]["tags"]
    assert groups(logs)[0]["retentionInDays"] == 1

    assert run_module(group_retention=90, group_tags=TAGS)["changed"] is True
    assert groups(logs)[0]["retentionInDays"] == 90
    assert logs.list_tags_for_resource(resourceArn=created["log_group"]["arn"])["tags"] == TAGS

    # Three years: CloudWatch Logs accepts it; the collection module deleted the group for it.
    assert run_module(group_retention=1096)["changed"] is True
    assert groups(logs)[0]["retentionInDays"] == 1096

    assert run_module(check=True, group_state="absent")["changed"] is True
    assert len(groups(logs)) == 1, "check mode deleted the log group"
    assert run_module(group_state="absent")["changed"] is True
    assert groups(logs) == []
    assert run_module(group_state="absent")["changed"] is False
