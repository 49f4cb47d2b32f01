#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secretsmanager_secret_values_info
short_description: Read several Secrets Manager secrets' values in one request
version_added: 1.0.0
description:
  - Reads the current values (C(SecretString)) of the secrets O(secrets) names with one
    C(BatchGetSecretValue) (up to 20 a request), where the M(amazon.aws.secretsmanager_secret)
    lookup sends one C(GetSecretValue) per secret, one after another.
  - A secret that does not exist reads as an empty string (the lookup's C(on_missing=skip)); one AWS
    cannot read otherwise (scheduled for deletion, not allowed, not decryptable) stops the task with
    AWS's error for it.
  - It changes nothing. Its result holds secret values, so run it with C(no_log).
  - "Needs C(secretsmanager:BatchGetSecretValue) and, for each secret, C(secretsmanager:GetSecretValue)."
author:
  - mensetsu platform team (!UNKNOWN)
options:
  secrets:
    description: "The secrets to read: {key: name or ARN}; the result returns each value under its key."
    type: dict
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the database and Redis credentials
  secretsmanager_secret_values_info:
    secrets: {db: mensetsu/dev/db, redis: mensetsu/dev/redis}
  register: credentials
  no_log: true
"""

RETURN = r"""
secrets:
  description: The value of each secret under its key; an empty string for a secret that does not exist.
  returned: always
  type: dict
  sample: {db: '{"username": "app_admin", ...}', redis: ""}
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.secret_values import batch_read_values, describe_errors
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

MISSING = "ResourceNotFoundException"  # a secret that does not exist, as BatchGetSecretValue's Errors name it


def read(module: Any, client: Any, secrets: dict[str, str]) -> dict[str, str]:
    """{key: value} of the declared secrets; a missing secret's value is empty."""
    ids = sorted(set(secrets.values()))
    try:
        values, errors = batch_read_values(client, ids) if ids else ({}, [])
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the values of {', '.join(ids)}")
    failed = [error for error in errors if error.get("ErrorCode") != MISSING]
    if failed:
        module.fail_json(msg=f"Failed to read the value of {describe_errors(failed)}")
    return {key: values.get(name) or "" for key, name in secrets.items()}  # a missing secret has no value


def main() -> None:
    argument_spec = dict(secrets=dict(type="dict", required=True, no_log=False))
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("secretsmanager", retry_decorator=AWSRetry.jittered_backoff())
    module.exit_json(changed=False, secrets=read(module, client, module.params["secrets"]))


if __name__ == "__main__":
    main()
