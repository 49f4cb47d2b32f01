"""library/log_group.py against the moto server, run as a playbook's task runs it (tests/support/module.py;
the re-runs once through a real playbook).

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run and check run
(unchanged, no mutating request), an out-of-band retention and tag change seen by check mode
without a write (amazon.aws.cloudwatchlogs_log_group writes the retention in check mode) and put
back, a retention its list lacks (1096 days) set without losing the group, delete.
"""

from __future__ import annotations

from tests.support import module
from tests.support.requests import writes

NAME = "/mensetsu/test/ssm-sessions"
TAGS = {"Project": "mensetsu", "Environment": "test"}


def run_module(check: bool = False, playbook: bool = False, **args: object) -> dict:
    """The task's result for the module's options `args` (name: NAME); `playbook`: through ansible-playbook."""
    return (module.play_module if playbook else module.run_module)(
        "log_group", {"name": NAME, **args}, check=check, env={"AWS_MAX_ATTEMPTS": "1"}
    )


def groups(logs) -> list[dict]:
    return logs.describe_log_groups(logGroupNamePrefix=NAME)["logGroups"]


def test_log_group_lifecycle(aws, boto) -> None:
    logs = boto("logs", "ap-northeast-1")

    planned = run_module(check=True, retention_days=90, tags=TAGS)
    assert planned["changed"] is True and planned["diff"]["after"]["retention_days"] == 90
    assert groups(logs) == [], "check mode created the log group"

    created = run_module(retention_days=90, tags=TAGS)
    assert created["changed"] is True
    (group,) = groups(logs)
    assert group["retentionInDays"] == 90
    assert logs.list_tags_for_resource(resourceArn=created["log_group"]["arn"])["tags"] == TAGS

    with aws.recording_requests() as requests:
        assert run_module(playbook=True, retention_days=90, tags=TAGS)["changed"] is False
        assert run_module(check=True, playbook=True, retention_days=90, tags=TAGS)["changed"] is False
    assert writes(requests) == [], [str(request) for request in writes(requests)]

    # Out of band: a shorter retention and a tag more. Check mode sees both and writes nothing.
    logs.put_retention_policy(logGroupName=NAME, retentionInDays=1)
    logs.tag_resource(resourceArn=created["log_group"]["arn"], tags={"Owner": "someone"})
    with aws.recording_requests() as requests:
        seen = run_module(check=True, retention_days=90, tags=TAGS)
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert seen["changed"] is True
    assert (seen["diff"]["before"]["retention_days"], seen["diff"]["after"]["retention_days"]) == (1, 90)
    assert "Owner" in seen["diff"]["before"]["tags"] and "Owner" not in seen["diff"]["after"]["tags"]
    assert groups(logs)[0]["retentionInDays"] == 1

    assert run_module(retention_days=90, tags=TAGS)["changed"] is True
    assert groups(logs)[0]["retentionInDays"] == 90
    assert logs.list_tags_for_resource(resourceArn=created["log_group"]["arn"])["tags"] == TAGS

    # Three years: CloudWatch Logs accepts it; the collection module deleted the group for it.
    assert run_module(retention_days=1096)["changed"] is True
    assert groups(logs)[0]["retentionInDays"] == 1096

    assert run_module(check=True, state="absent")["changed"] is True
    assert len(groups(logs)) == 1, "check mode deleted the log group"
    assert run_module(state="absent")["changed"] is True
    assert groups(logs) == []
    assert run_module(state="absent")["changed"] is False


def test_several_groups_are_read_together_and_each_has_its_result(aws, boto) -> None:
    """names: the exported PostgreSQL logs' groups of roles/aws_data in one task: one DescribeLogGroups
    by their shared prefix and, with the account, each one's tags beside it; a result each."""
    logs = boto("logs", "ap-northeast-1")
    names = ["/aws/rds/instance/mensetsu-test/postgresql", "/aws/rds/instance/mensetsu-test/upgrade"]
    logs.create_log_group(logGroupName="/aws/rds/instance/mensetsu-test-other/postgresql")  # shares less
    args = {"names": names, "retention_days": 30, "tags": TAGS, "account_id": "123456789012"}
    env = {"AWS_MAX_ATTEMPTS": "1"}
    planned = module.run_module("log_group", args, check=True, env=env)
    assert planned["changed"] is True and [r["name"] for r in planned["results"]] == names
    assert all(r["changed"] and r["drift_kind"] == "log_group" for r in planned["results"])
    assert set(planned["diff"]["after"]) == set(names)
    created = module.run_module("log_group", args, env=env)
    assert created["changed"] is True
    assert {g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups()["logGroups"]} == {
        names[0]: 30,
        names[1]: 30,
        "/aws/rds/instance/mensetsu-test-other/postgresql": None,
    }
    logs.put_retention_policy(logGroupName=names[1], retentionInDays=1)
    with aws.recording_requests() as requests:
        drift = module.run_module("log_group", args, check=True, env=env)
    assert writes(requests) == []
    assert [r["changed"] for r in drift["results"]] == [False, True]
    assert drift["results"][1]["diff"]["before"]["retention_days"] == 1
    assert module.run_module("log_group", args, env=env)["changed"] is True
    with aws.recording_requests() as requests:
        again = module.run_module("log_group", args, env=env)
    assert again["changed"] is False and writes(requests) == []
    assert sorted(request.action for request in requests) == ["DescribeLogGroups"] + ["ListTagsForResource"] * 2
    assert [r["log_group"]["tags"] for r in again["results"]] == [TAGS, TAGS]
