"""library/aws_account_info.py against the moto server, run as a playbook's task runs it
(tests/support/module.py; once through a real playbook): one request, STS GetCallerIdentity, in a
normal run and in check mode, and the account, ARN and partition it answers."""

from __future__ import annotations

from tests.support import module


def test_reads_the_account_and_partition_with_one_request(aws) -> None:
    for check in (False, True):
        with aws.recording_requests() as requests:
            result = module.run_module("aws_account_info", {}, check=check)
        assert [(request.service, request.action) for request in requests] == [("sts", "GetCallerIdentity")]
        assert result["changed"] is False
        assert result["account"] == "123456789012"
        assert result["partition"] == "aws"
        assert result["arn"].startswith("arn:aws:")


def test_a_playbook_task_reads_the_identity_of_its_environment(aws) -> None:
    result = module.play_module("aws_account_info", {})
    assert (result["account"], result["partition"]) == ("123456789012", "aws")


def test_an_unreachable_endpoint_fails_the_task_with_the_reason(aws) -> None:
    result = module.run_module(
        "aws_account_info", {}, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}, failures=1
    )
    assert "Failed to read the caller's identity" in result["msg"]
