"""The caller's identity (STS GetCallerIdentity), the one read of it for every library/ module.

library/aws_account_info returns it to the playbooks (playbooks/tasks/aws_account.yml).

AWS Budgets and S3 Control address an account explicitly. The playbooks read the caller's identity
once per run (playbooks/tasks/aws_account.yml) and pass it as the module's `account_id`; a module
run without it asks STS itself, here, so that the fallback and its error message are written once.
"""

from __future__ import annotations

try:
    import botocore
except ImportError:
    botocore = None  # AnsibleAWSModule reports the missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def caller_identity(module, failure: str) -> dict:
    """STS GetCallerIdentity's answer (Account, Arn, UserId); the module fails with ``failure`` if it cannot."""
    sts = module.client("sts", retry_decorator=AWSRetry.jittered_backoff())
    try:
        return sts.get_caller_identity(aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=failure)
    return {}


def caller_account(module) -> str:
    """The module's `account_id` when given, else the caller's account from STS GetCallerIdentity."""
    if module.params.get("account_id"):
        return module.params["account_id"]
    return caller_identity(module, "Could not tell the account (STS GetCallerIdentity); set account_id")["Account"]
