"""tests/support/module.py's run_module gives the task result a playbook run gives, and nothing of one
call reaches the next or the test process.

The module tests run most steps with run_module (a fork of the test process running the module's
main()) and a few with play_module (ansible-playbook): both must be the same task result, the playbook's
own keys (`action`, `stats`, ...) aside. library/log_group.py is the module here: cheap, and it fails
on a bad argument in its argument spec.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.warnings import get_warnings

from tests.support import module
from tests.support.requests import writes

NAME = "/mensetsu/test/runner"
ARGS = {"name": NAME, "retention_days": 90, "tags": {"Project": "mensetsu"}}


def test_a_forked_call_is_the_playbook_task_result(aws, boto) -> None:
    logs = boto("logs")
    with aws.recording_requests() as requests:
        played = module.play_module("log_group", ARGS, check=True)
        forked = module.run_module("log_group", ARGS, check=True)
    assert writes(requests) == [] and logs.describe_log_groups(logGroupNamePrefix=NAME)["logGroups"] == []
    assert played["changed"] is True and played["stats"]["changed"] == 1 and played["diff"]["before"] == {}
    assert module.module_result(played) == forked
    assert forked["invocation"]["module_args"]["retention_days"] == 90  # the argument spec applied, as in the play

    created = module.run_module("log_group", ARGS)
    assert created["changed"] is True and created["diff"]["after"]["retention_days"] == 90
    [group] = logs.describe_log_groups(logGroupNamePrefix=NAME)["logGroups"]
    assert group["retentionInDays"] == 90
    played, forked = module.play_module("log_group", ARGS), module.run_module("log_group", ARGS)
    assert played["changed"] is False and played["stats"]["changed"] == 0
    assert module.module_result(played) == forked


def test_a_failure_is_the_playbook_task_failure(aws) -> None:
    bad = {"name": NAME, "retention_days": 91}
    played = module.play_module("log_group", bad, failures=1)
    forked = module.run_module("log_group", bad, failures=1)
    assert played["failed"] is True and forked["failed"] is True
    assert forked["msg"] == played["msg"] and "got: 91" in forked["msg"]
    assert module.module_result(played) == forked


def test_nothing_of_a_call_reaches_the_test_process(aws, boto) -> None:
    before = dict(os.environ)
    # A module's warnings are collected in a global of ansible.module_utils; the AWS settings of one
    # call (AWS_MAX_ATTEMPTS, a region) stay in its fork.
    result = module.run_module(
        "log_group", {"name": NAME, "retention_days": 90}, env={"AWS_MAX_ATTEMPTS": "1", "AWS_REGION": "us-east-1"}
    )
    assert result["changed"] is True and result["invocation"]["module_args"]["region"] == "us-east-1"
    assert dict(os.environ) == before and get_warnings() == []
    assert boto("logs", "us-east-1").describe_log_groups(logGroupNamePrefix=NAME)["logGroups"]
    assert boto("logs").describe_log_groups(logGroupNamePrefix=NAME)["logGroups"] == []
    # The next call in the same test process sees the region of the test's environment again.
    again = module.run_module("log_group", {"name": NAME, "retention_days": 90})
    assert again["changed"] is True and again["invocation"]["module_args"]["region"] == "ap-northeast-1"
