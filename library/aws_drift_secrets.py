#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_drift_secrets
short_description: Compare Secrets Manager secrets' metadata with their declaration, never their values
version_added: 1.0.0
description:
  - Reads each declared secret's metadata (DescribeSecret) and reports a secret that is missing,
    scheduled for deletion, or whose description or tags differ.
  - Never reads a secret's value (no GetSecretValue), so its result can be shown without
    C(no_log), and a drift report can name the secret. The provisioning tasks that carry the
    values run with C(no_log) and can only say that some item differs.
  - Read-only, in check mode or not. Reports C(changed) when anything differs.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  secrets:
    description: The declared secrets.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: The secret's name., type: str, required: true}
      description: {description: The declared description; not compared when unset., type: str}
      tags: {description: The declared tags; not compared when unset., type: dict}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Compare the secrets' metadata
  aws_drift_secrets:
    secrets:
      - name: mensetsu/dev/openai-api-key
        description: openai-api-key for mensetsu/dev
      - name: mensetsu/dev/db
"""

RETURN = r"""
names:
  description: The declared secrets' names (the drift run's unmanaged scan reads them).
  returned: always
  type: list
  elements: str
resource:
  description: What was compared.
  returned: always
  type: str
  sample: secretsmanager
differences:
  description:
    - One entry per secret attribute that differs, with the secret's name and ARN (null when it is missing).
    - Values of secrets never appear.
  returned: always
  type: list
  elements: dict
  sample: [{"attribute": "secret[mensetsu/dev/heygen-api-key]", "declared": "present", "actual": "absent",
            "secret_name": "mensetsu/dev/heygen-api-key", "secret_arn": null}]
"""

import functools
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_drift import difference, drift_result
from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.parallel_reads import read_in_parallel
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def describe(module: AWSModule, client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_secret(SecretId=name, aws_retry=True)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe secret {name}")


def compare_secret(declared: dict[str, Any], actual: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The differences of one secret, each naming the secret (and its ARN when it exists)."""
    identity = {"secret_name": declared["name"], "secret_arn": (actual or {}).get("ARN")}
    return [{**item, **identity} for item in _secret_differences(declared, actual)]


def _secret_differences(declared: dict[str, Any], actual: dict[str, Any] | None) -> list[dict[str, Any]]:
    resource = f"secret[{declared['name']}]"
    if actual is None:
        return [difference(resource, "present", "absent")]
    if actual.get("DeletedDate"):
        return [difference(resource, "present", f"scheduled for deletion since {actual['DeletedDate']}")]
    found = []
    if declared.get("description") is not None and declared["description"] != actual.get("Description", ""):
        found.append(difference(f"{resource}.description", declared["description"], actual.get("Description")))
    if declared.get("tags") is not None:
        want = {key: str(value) for key, value in declared["tags"].items()}
        have = {tag["Key"]: tag["Value"] for tag in actual.get("Tags", [])}
        if want != have:
            found.append(difference(f"{resource}.tags", want, have))
    return found


def main() -> None:
    secret = dict(name=dict(type="str", required=True), description=dict(type="str"), tags=dict(type="dict"))
    # The declared names, descriptions and tags: no value passes here (the check cannot tell from the name).
    argument_spec = dict(secrets=dict(type="list", elements="dict", required=True, no_log=False, options=secret))
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("secretsmanager", retry_decorator=AWSRetry.jittered_backoff())
    # Every secret described at once (one round trip, not one per secret).
    declared_secrets = module.params["secrets"]
    found = read_in_parallel(
        module,
        {
            number: functools.partial(describe, module, client, declared["name"])
            for number, declared in enumerate(declared_secrets)
        },
    )
    differences = [
        item for number, declared in enumerate(declared_secrets) for item in compare_secret(declared, found[number])
    ]
    names = [declared["name"] for declared in module.params["secrets"]]
    module.exit_json(**drift_result("secretsmanager", differences), names=names)


if __name__ == "__main__":
    main()
