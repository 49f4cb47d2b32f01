#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_bucket_names
short_description: Tell whether S3 bucket names are this account's, free, or taken by another account
version_added: 1.0.0
description:
  - Bucket names are global across every AWS account. Before a run creates its buckets, this module
    sorts the wanted names into those the account already owns (C(ListBuckets), one request), those
    nobody has (C(HeadBucket) answers 404) and those another account holds (any other answer, 403 from
    AWS, 200 from an emulator that shares buckets between accounts).
  - Read-only; the same in check mode.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  names:
    description: The bucket names to look up.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Look the bucket names up
  s3_bucket_names:
    names: [mensetsu-dev-static-123456789012, mensetsu-dev-media-123456789012]
  register: names

- name: Stop when another account holds one
  ansible.builtin.assert:
    that: names.taken | length == 0
"""

RETURN = r"""
owned:
  description: The names of buckets this account owns.
  returned: always
  type: list
  elements: str
free:
  description: The names no account has.
  returned: always
  type: list
  elements: str
taken:
  description: The names another account holds.
  returned: always
  type: list
  elements: str
"""

try:
    import botocore
except ImportError:
    botocore = None  # AWSModule reports the missing dependency

from ansible.module_utils.aws_module import AWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def owned_buckets(module: AWSModule, client) -> set[str]:
    try:
        return {bucket["Name"] for bucket in client.list_buckets(aws_retry=True).get("Buckets", [])}
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg="Could not list the account's buckets")
    return set()


def name_is_free(module: AWSModule, client, name: str) -> bool:
    try:
        client.head_bucket(Bucket=name)
    except botocore.exceptions.ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.response.get("Error", {}).get("Code"))
        return status == 404 or code in ("404", "NoSuchBucket", "NotFound")
    except botocore.exceptions.BotoCoreError as error:
        module.fail_json_aws(error, msg=f"Could not look the bucket name {name} up")
    return False


def main() -> None:
    module = AWSModule(
        argument_spec={"names": {"type": "list", "elements": "str", "required": True}}, supports_check_mode=True
    )
    client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff())
    names = list(dict.fromkeys(module.params["names"]))
    owned = owned_buckets(module, client)
    others = [name for name in names if name not in owned]
    free = [name for name in others if name_is_free(module, client, name)]
    module.exit_json(
        changed=False,
        owned=[name for name in names if name in owned],
        free=free,
        taken=[name for name in others if name not in free],
    )


if __name__ == "__main__":
    main()
