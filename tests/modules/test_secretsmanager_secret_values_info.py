"""library/secretsmanager_secret_values_info.py (and module_utils/secret_values.py) against the moto
server, run as a playbook's task runs it (tests/support/module.py; once through a real playbook, as
roles/aws_data runs it with no_log), and against AWS's paged answer (botocore's Stubber)."""

from __future__ import annotations

import json

import boto3
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from tests.support import module
from tests.support.library_code import TaskModule, load_library_module
from tests.support.moto import REGION

info_module = load_library_module("secretsmanager_secret_values_info")
PREFIX = "mensetsu/test"
CREDENTIALS = json.dumps({"username": "app_admin", "password": "test-only-password"})  # not a secret: emulator data
DECLARED = {"db": f"{PREFIX}/db", "redis": f"{PREFIX}/redis"}


def test_both_values_in_one_request_and_a_missing_secret_is_empty(aws, boto) -> None:
    secrets = boto("secretsmanager")
    with aws.recording_requests() as requests:
        nothing = module.run_module("secretsmanager_secret_values_info", {"secrets": DECLARED}, check=True)
    assert nothing["changed"] is False and nothing["secrets"] == {"db": "", "redis": ""}
    assert [request.action for request in requests] == ["BatchGetSecretValue"]

    secrets.create_secret(Name=f"{PREFIX}/db", SecretString=CREDENTIALS)
    with aws.recording_requests() as requests:
        found = module.run_module("secretsmanager_secret_values_info", {"secrets": DECLARED})
    assert [request.action for request in requests] == ["BatchGetSecretValue"]
    assert found["secrets"] == {"db": CREDENTIALS, "redis": ""}
    # As roles/aws_data runs it, with no_log: the task's result shows no value.
    shown = module.play_module("secretsmanager_secret_values_info", {"secrets": DECLARED}, no_log=True)
    assert "secrets" not in shown and "test-only-password" not in json.dumps(shown)

    # A secret scheduled for deletion is not a missing one: the lookup failed on it too (on_deleted=error).
    secrets.delete_secret(SecretId=f"{PREFIX}/db", RecoveryWindowInDays=7)
    failed = module.run_module("secretsmanager_secret_values_info", {"secrets": DECLARED}, failures=1)
    assert f"{PREFIX}/db" in failed["msg"] and "test-only-password" not in json.dumps(failed)


def test_a_paged_answer_is_read_to_its_end_as_aws_sends_it() -> None:
    """AWS may page BatchGetSecretValue even for a list of ids ("This can occur even when the response
    includes no values at all"), and answers a missing secret as an entry of Errors."""
    raw = boto3.client(
        "secretsmanager", region_name=REGION, aws_access_key_id="stubbed", aws_secret_access_key="stubbed"
    )
    client = RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff(retries=1))
    ids = sorted(DECLARED.values())
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{PREFIX}/db-AbCdEf"
    with Stubber(raw) as stubber:
        stubber.add_response(
            "batch_get_secret_value", {"SecretValues": [], "NextToken": "page-2"}, {"SecretIdList": ids}
        )
        stubber.add_response(
            "batch_get_secret_value",
            {
                "SecretValues": [{"ARN": arn, "Name": f"{PREFIX}/db", "SecretString": CREDENTIALS}],
                "Errors": [
                    {
                        "SecretId": f"{PREFIX}/redis",
                        "ErrorCode": "ResourceNotFoundException",
                        "Message": "Secrets Manager can't find the specified secret.",
                    }
                ],
            },
            {"SecretIdList": ids, "NextToken": "page-2"},
        )
        found = info_module.read(TaskModule({"secrets": DECLARED}), client, DECLARED)
        stubber.assert_no_pending_responses()
    assert found == {"db": CREDENTIALS, "redis": ""}
