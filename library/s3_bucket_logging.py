#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_bucket_logging
short_description: A bucket's server access logging, to a bucket whose policy grants the delivery
version_added: 1.0.0
description:
  - Sets (or removes) an S3 bucket's server access logging (the target bucket and the prefix).
  - It exists because M(community.aws.s3_logging) always adds an ACL grant for the LogDelivery
    group to the target bucket, which AWS refuses (C(AccessControlListNotSupported)) when the
    target bucket has ACLs disabled (object ownership C(BucketOwnerEnforced), the default and
    AWS's recommendation). This module never touches an ACL; the target bucket's policy grants
    C(logging.s3.amazonaws.com) the write instead.
  - In check mode it sends only C(GetBucketLogging) and reports what a real run would change.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The bucket whose requests are logged.
    type: str
    required: true
  target_bucket:
    description: The bucket that receives the logs. Required with O(state=present).
    type: str
  target_prefix:
    description: The key prefix of the log objects in O(target_bucket).
    type: str
    default: ""
  state:
    description: Whether the bucket's requests are logged.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Log the media bucket's requests to the log bucket
  s3_bucket_logging:
    name: mensetsu-dev-media-123456789012
    target_bucket: mensetsu-dev-logs-123456789012
    target_prefix: s3/mensetsu-dev-media-123456789012/
"""

RETURN = r"""
logging:
  description: The bucket's logging after the run (in check mode, as it would be); empty when off.
  returned: always
  type: dict
  contains:
    target_bucket: {description: The target bucket., type: str}
    target_prefix: {description: The prefix., type: str}
  sample: {"target_bucket": "mensetsu-dev-logs-123456789012", "target_prefix": "s3/mensetsu-dev-media-123456789012/"}
diff:
  description: The logging before and after, when it changes.
  returned: when changed
  type: dict
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def current_logging(module: AnsibleAWSModule, client: Any) -> dict[str, str]:
    try:
        response = client.get_bucket_logging(Bucket=module.params["name"], aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the logging of bucket {module.params['name']}")
    enabled = response.get("LoggingEnabled") or {}
    if not enabled:
        return {}
    return {"target_bucket": enabled.get("TargetBucket", ""), "target_prefix": enabled.get("TargetPrefix", "")}


def put_logging(module: AnsibleAWSModule, client: Any, wanted: dict[str, str]) -> None:
    status: dict[str, Any] = {}
    if wanted:
        status = {"LoggingEnabled": {"TargetBucket": wanted["target_bucket"], "TargetPrefix": wanted["target_prefix"]}}
    try:
        client.put_bucket_logging(Bucket=module.params["name"], BucketLoggingStatus=status, aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to set the logging of bucket {module.params['name']}")


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        target_bucket=dict(type="str"),
        target_prefix=dict(type="str", default=""),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["target_bucket"])],
    )
    client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff())
    before = current_logging(module, client)
    wanted: dict[str, str] = {}
    if module.params["state"] == "present":
        wanted = {"target_bucket": module.params["target_bucket"], "target_prefix": module.params["target_prefix"]}
    if before == wanted:
        module.exit_json(changed=False, logging=before)
    if not module.check_mode:
        put_logging(module, client, wanted)
    module.exit_json(changed=True, logging=wanted, diff={"before": before, "after": wanted})


if __name__ == "__main__":
    main()
