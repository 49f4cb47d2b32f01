#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_bucket_empty
short_description: Empty an S3 bucket of every object version and delete marker, with check mode
version_added: 1.0.0
description:
  - Deletes every object version and every delete marker of a bucket (a versioned bucket is only empty
    then), 1000 at a time with C(DeleteObjects), so that M(amazon.aws.s3_bucket) can delete the bucket.
  - Unlike O(amazon.aws.s3_bucket#module:force), it supports check mode and says how many versions and
    delete markers would go, so a check run of a teardown lists them.
  - A bucket that does not exist is reported unchanged.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description:
      - The bucket's name.
    type: str
    required: true
  drop_policy:
    description:
      - Delete the bucket's policy before the objects.
      - For an endpoint that ignores policy conditions (the moto emulator), where a TLS-only C(Deny)
        refuses the plain-HTTP C(DeleteObjects); over HTTPS on AWS it is not needed.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Empty the static bucket (every version) before deleting it
  s3_bucket_empty:
    name: mensetsu-dev-static

- name: Delete the empty bucket
  amazon.aws.s3_bucket:
    name: mensetsu-dev-static
    state: absent
"""

RETURN = r"""
exists:
  description: Whether the bucket exists.
  returned: always
  type: bool
  sample: true
versions:
  description: How many object versions were (in check mode, would be) deleted.
  returned: always
  type: int
  sample: 12
delete_markers:
  description: How many delete markers were (in check mode, would be) deleted.
  returned: always
  type: int
  sample: 2
policy_deleted:
  description: Whether the bucket's policy was (in check mode, would be) deleted.
  returned: always
  type: bool
  sample: false
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

BATCH = 1000


def bucket_exists(client, module: AWSModule, name: str) -> bool:
    try:
        client.head_bucket(Bucket=name, aws_retry=True)
    except is_boto3_error_code(["404", "NoSuchBucket", "NotFound"]):
        return False
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to find bucket {name}")
    return True


def list_entries(client, module: AWSModule, name: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Every object version and every delete marker, as DeleteObjects wants them."""
    versions: list[dict[str, str]] = []
    markers: list[dict[str, str]] = []
    try:
        paginator = client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=name):
            versions += [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", [])]
            markers += [{"Key": m["Key"], "VersionId": m["VersionId"]} for m in page.get("DeleteMarkers", [])]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to list the object versions of {name}")
    return versions, markers


def has_policy(client, module: AWSModule, name: str) -> bool:
    try:
        client.get_bucket_policy(Bucket=name, aws_retry=True)
    except is_boto3_error_code("NoSuchBucketPolicy"):
        return False
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to read the policy of {name}")
    return True


def delete_policy(client, module: AWSModule, name: str) -> None:
    try:
        client.delete_bucket_policy(Bucket=name, aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to delete the policy of {name}")


def delete_entries(client, module: AWSModule, name: str, entries: list[dict[str, str]]) -> None:
    for start in range(0, len(entries), BATCH):
        batch = [
            entry if entry["VersionId"] != "null" else {"Key": entry["Key"]} for entry in entries[start : start + BATCH]
        ]
        try:
            answer = client.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True}, aws_retry=True)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to delete objects from {name}")
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            module.fail_json(
                msg=f"Could not delete {len(errors)} object version(s) from {name}, "
                f"e.g. {first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip(),
                errors=errors,
            )


def empty_bucket(client, module: AWSModule) -> dict[str, Any]:
    name = module.params["name"]
    if not bucket_exists(client, module, name):
        return {"changed": False, "exists": False, "versions": 0, "delete_markers": 0, "policy_deleted": False}
    versions, markers = list_entries(client, module, name)
    drop = module.params["drop_policy"] and has_policy(client, module, name)
    changed = bool(versions or markers or drop)
    if changed and not module.check_mode:
        if drop:
            delete_policy(client, module, name)
        delete_entries(client, module, name, versions + markers)
    before = {"versions": len(versions), "delete_markers": len(markers)}
    return {
        "changed": changed,
        "exists": True,
        "versions": len(versions),
        "delete_markers": len(markers),
        "policy_deleted": drop,
        "diff": {"before": {**before, "policy": drop}, "after": {"versions": 0, "delete_markers": 0, "policy": False}},
    }


def main() -> None:
    module = AWSModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "drop_policy": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff())
    module.exit_json(**empty_bucket(client, module))


if __name__ == "__main__":
    main()
