#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ssm_session_preferences
short_description: Keep Session Manager's preferences of an account and region (SSM-SessionManagerRunShell)
version_added: 1.0.0
description:
  - Session Manager reads its account-wide preferences (session logging, encryption, idle timeout,
    run-as user, shell profile) from the SSM document C(SSM-SessionManagerRunShell) of type C(Session)
    in each region. This module creates that document, or updates it when its content differs, and
    makes the version it wrote the default one (Session Manager reads the default version).
  - The content is compared as data (the parsed JSON), so a document written by the console with other
    spacing or key order is left alone when it says the same.
  - AWS refuses an update whose content equals an existing version of the document
    (C(DuplicateDocumentContent)); the module then makes that version the default instead.
  - Every input of the preferences is written; an input the task does not set gets its documented
    default, so preferences changed in the console are put back to the task's.
  - No module of amazon.aws or community.aws manages SSM documents.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The preferences document's name; Session Manager reads C(SSM-SessionManagerRunShell).
    type: str
    default: SSM-SessionManagerRunShell
  state:
    description: V(present) creates or updates the document, V(absent) deletes it (sessions then log nowhere).
    type: str
    choices: [present, absent]
    default: present
  cloudwatch_log_group_name:
    description: The log group that receives every session's output; empty for no CloudWatch logging.
    type: str
    default: ""
  cloudwatch_encryption_enabled:
    description:
      - Start a session only when the log group is encrypted with a KMS key (C(cloudWatchEncryptionEnabled)).
      - A log group without a KMS key would then refuse every session.
    type: bool
    default: false
  cloudwatch_streaming_enabled:
    description: Stream the output while the session runs (C(true)) instead of uploading it at its end.
    type: bool
    default: true
  s3_bucket_name:
    description: A bucket that receives every session's output; empty for no S3 logging.
    type: str
    default: ""
  s3_key_prefix:
    description: The key prefix of the session logs in O(s3_bucket_name).
    type: str
    default: ""
  s3_encryption_enabled:
    description: Write to O(s3_bucket_name) only when it has default encryption.
    type: bool
    default: true
  idle_session_timeout:
    description: Minutes of inactivity after which a session ends (1 to 60).
    type: int
    default: 20
  max_session_duration:
    description: Longest session in minutes (1 to 1440); 0 for no limit.
    type: int
    default: 0
  kms_key_id:
    description: A KMS key that encrypts the session's data stream between client and instance; empty for TLS only.
    type: str
    default: ""
  run_as_default_user:
    description: The Linux user sessions run as; empty for the agent's C(ssm-user).
    type: str
    default: ""
  linux_shell_profile:
    description: Commands run at the start of every Linux session.
    type: str
    default: ""
notes:
  - The document is one per account and region, so two environments that share an account and
    region share these preferences.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Log every Session Manager session to the environment's log group
  ssm_session_preferences:
    cloudwatch_log_group_name: /mensetsu/dev/ssm-sessions
    idle_session_timeout: 20

- name: Remove the preferences
  ssm_session_preferences:
    state: absent
"""

RETURN = r"""
document:
  description: The preferences as they are after the task (in check mode, as they would be); empty when absent.
  returned: always
  type: dict
  sample:
    schemaVersion: "1.0"
    description: Document to hold regional settings for Session Manager
    sessionType: Standard_Stream
    inputs:
      cloudWatchLogGroupName: /mensetsu/dev/ssm-sessions
      idleSessionTimeout: "20"
document_version:
  description: The default version of the document after the task; empty when absent or only planned.
  returned: always
  type: str
  sample: "2"
diff:
  description: The document's content before and after.
  returned: when changed and diff mode is on
  type: dict
"""

import contextlib
import json
from typing import Any

with contextlib.suppress(ImportError):  # AWSModule reports a missing botocore
    import botocore

from ansible.module_utils.aws_module import AWSModule
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

DESCRIPTION = "Document to hold regional settings for Session Manager"


def desired_content(params: dict[str, Any]) -> dict[str, Any]:
    """The preferences document as Session Manager's schema writes it (numbers as strings)."""
    max_duration = params["max_session_duration"]
    return {
        "schemaVersion": "1.0",
        "description": DESCRIPTION,
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": params["s3_bucket_name"],
            "s3KeyPrefix": params["s3_key_prefix"],
            "s3EncryptionEnabled": params["s3_encryption_enabled"],
            "cloudWatchLogGroupName": params["cloudwatch_log_group_name"],
            "cloudWatchEncryptionEnabled": params["cloudwatch_encryption_enabled"],
            "cloudWatchStreamingEnabled": params["cloudwatch_streaming_enabled"],
            "idleSessionTimeout": str(params["idle_session_timeout"]),
            "maxSessionDuration": str(max_duration) if max_duration else "",
            "kmsKeyId": params["kms_key_id"],
            "runAsEnabled": bool(params["run_as_default_user"]),
            "runAsDefaultUser": params["run_as_default_user"],
            "shellProfile": {"windows": "", "linux": params["linux_shell_profile"]},
        },
    }


def read_document(client, name: str) -> tuple[dict[str, Any] | None, str]:
    """The default version's content (parsed) and number; (None, "") when there is no document."""
    try:
        found = client.get_document(Name=name, aws_retry=True)
    except is_boto3_error_code("InvalidDocument"):
        return None, ""
    return json.loads(found["Content"]), found.get("DocumentVersion", "")


def version_with_content(client, name: str, content: dict[str, Any]) -> str:
    """The number of an existing version whose content equals `content` (AWS's DuplicateDocumentContent).

    Versions are numbered 1 to the latest; they are read newest first (GetDocument per version, not
    ListDocumentVersions, which the moto emulator lacks). A deleted version is skipped."""
    latest = int(client.describe_document(Name=name, aws_retry=True)["Document"]["LatestVersion"])
    for number in range(latest, 0, -1):
        try:
            found = client.get_document(Name=name, DocumentVersion=str(number), aws_retry=True)
        except is_boto3_error_code("InvalidDocumentVersion"):
            continue
        if json.loads(found["Content"]) == content:
            return str(number)
    return ""


def write_document(client, name: str, content: dict[str, Any], exists: bool) -> str:
    """Create the document or add a version and make it the default; the default version's number."""
    text = json.dumps(content, indent=2, sort_keys=True)
    if not exists:
        created = client.create_document(
            Name=name, Content=text, DocumentType="Session", DocumentFormat="JSON", aws_retry=True
        )
        return created["DocumentDescription"]["DocumentVersion"]
    try:
        updated = client.update_document(Name=name, Content=text, DocumentVersion="$LATEST", aws_retry=True)
        version = updated["DocumentDescription"]["DocumentVersion"]
    except is_boto3_error_code("DuplicateDocumentContent"):
        version = version_with_content(client, name, content)
    client.update_document_default_version(Name=name, DocumentVersion=version, aws_retry=True)
    return version


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", default="SSM-SessionManagerRunShell"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        cloudwatch_log_group_name=dict(type="str", default=""),
        cloudwatch_encryption_enabled=dict(type="bool", default=False),
        cloudwatch_streaming_enabled=dict(type="bool", default=True),
        s3_bucket_name=dict(type="str", default=""),
        s3_key_prefix=dict(type="str", default="", no_log=False),
        s3_encryption_enabled=dict(type="bool", default=True),
        idle_session_timeout=dict(type="int", default=20),
        max_session_duration=dict(type="int", default=0),
        kms_key_id=dict(type="str", default=""),
        run_as_default_user=dict(type="str", default=""),
        linux_shell_profile=dict(type="str", default=""),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not 1 <= params["idle_session_timeout"] <= 60:
        module.fail_json(msg=f"idle_session_timeout: {params['idle_session_timeout']} is not 1 to 60 minutes")
    if not 0 <= params["max_session_duration"] <= 1440:
        module.fail_json(msg=f"max_session_duration: {params['max_session_duration']} is not 0 to 1440 minutes")
    client = module.client("ssm", retry_decorator=AWSRetry.jittered_backoff(retries=10))
    name = params["name"]
    try:
        before, version = read_document(client, name)
        after = desired_content(params) if params["state"] == "present" else None
        changed = before != after
        if changed and not module.check_mode:
            if after is None:
                client.delete_document(Name=name, aws_retry=True)
                version = ""
            else:
                version = write_document(client, name, after, exists=before is not None)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Could not manage the Session Manager preferences {name}")
    result: dict[str, Any] = {
        "changed": changed,
        "document": after or {},
        "document_version": "" if module.check_mode and changed else version,
    }
    if changed and module._diff:
        result["diff"] = {"before": before or {}, "after": after or {}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
