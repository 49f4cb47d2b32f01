#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_drift_s3_bucket
short_description: Compare an S3 bucket with its declaration, read-only
version_added: 1.0.0
description:
  - Reads an S3 bucket's public access block, versioning, default encryption, object ownership,
    policy, tags, lifecycle rules and CORS rules, and compares each with the declaration the
    task passes. It exists because M(amazon.aws.s3_bucket), M(community.aws.s3_lifecycle) and
    M(community.aws.s3_cors) have no check mode, so a C(--check) run silently skips them.
  - Read-only, in check mode or not; it sends only Get/List requests.
  - Reports C(changed) when the bucket differs from the declaration (what a converge would
    change), with one RV(differences) entry per attribute and a diff of just those attributes.
  - An option the task does not set is not compared.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The bucket's name.
    type: str
    required: true
  public_access:
    description: The declared public access block; every flag given is compared.
    type: dict
    suboptions:
      block_public_acls: {description: BlockPublicAcls., type: bool}
      ignore_public_acls: {description: IgnorePublicAcls., type: bool}
      block_public_policy: {description: BlockPublicPolicy., type: bool}
      restrict_public_buckets: {description: RestrictPublicBuckets., type: bool}
  versioning:
    description: Whether versioning is declared enabled (V(true)) or not (V(false)).
    type: bool
  encryption:
    description: The declared default encryption algorithm.
    type: str
    choices: [AES256, "aws:kms", "aws:kms:dsse"]
  object_ownership:
    description: The declared object ownership.
    type: str
    choices: [BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter]
  policy:
    description: The declared bucket policy (a JSON document); compared regardless of key and list order.
    type: json
  tags:
    description: The declared tags; compared exactly (the converge purges other tags).
    type: dict
  lifecycle_rules:
    description:
      - Lifecycle rules that must exist, identified by O(lifecycle_rules[].id). Other rules are
        not compared (M(community.aws.s3_lifecycle) keeps them).
    type: list
    elements: dict
    suboptions:
      id: {description: The rule's ID., type: str, required: true}
      status: {description: The rule's status., type: str, choices: [enabled, disabled], default: enabled}
      expiration_days: {description: Days until current versions expire., type: int}
      noncurrent_version_expiration_days: {description: Days until noncurrent versions expire., type: int}
      abort_incomplete_multipart_upload_days: {description: Days until incomplete uploads are aborted., type: int}
  cors_rules:
    description:
      - The declared CORS rules, in the form M(community.aws.s3_cors) takes; compared as a whole
        (the converge replaces the configuration), the order of rules and values ignored.
    type: list
    elements: dict
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Compare the media bucket with its declaration
  aws_drift_s3_bucket:
    name: mensetsu-dev-media-123456789012
    public_access:
      block_public_acls: true
      ignore_public_acls: true
      block_public_policy: true
      restrict_public_buckets: true
    versioning: true
    encryption: AES256
    lifecycle_rules:
      - id: expire-noncurrent-and-abort-uploads
        noncurrent_version_expiration_days: 30
        abort_incomplete_multipart_upload_days: 7
  register: media_drift
"""

RETURN = r"""
bucket:
  description: The bucket's name.
  returned: always
  type: str
declared_policy:
  description: The declared policy as given (the unmanaged scan reads its statements); null when not compared.
  returned: always
  type: str
resource:
  description: What was compared.
  returned: always
  type: str
  sample: s3://mensetsu-dev-media-123456789012
exists:
  description: Whether the bucket exists.
  returned: always
  type: bool
differences:
  description: One entry per attribute that differs from the declaration.
  returned: always
  type: list
  elements: dict
  contains:
    attribute:
      description: The attribute, e.g. C(public_access.block_public_acls).
      type: str
    declared:
      description: The declared value.
      type: raw
    actual:
      description: The value the API returned (null when absent).
      type: raw
  sample: [{"attribute": "versioning", "declared": "Enabled", "actual": "Suspended"}]
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing botocore

from ansible.module_utils.aws_drift import canonical_json, difference, drift_result, same_json, same_scalar
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

PUBLIC_ACCESS_KEYS = {
    "block_public_acls": "BlockPublicAcls",
    "ignore_public_acls": "IgnorePublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "restrict_public_buckets": "RestrictPublicBuckets",
}
# Get calls that answer with these codes when the setting is simply absent.
ABSENT_CODES = (
    "NoSuchPublicAccessBlockConfiguration",
    "ServerSideEncryptionConfigurationNotFoundError",
    "OwnershipControlsNotFoundError",
    "NoSuchBucketPolicy",
    "NoSuchTagSet",
    "NoSuchLifecycleConfiguration",
    "NoSuchCORSConfiguration",
)


def read(module: AnsibleAWSModule, client: Any, method: str, **kwargs: Any) -> dict[str, Any] | None:
    """A Get* call's response, or None when the setting is absent."""
    try:
        return getattr(client, method)(Bucket=module.params["name"], aws_retry=True, **kwargs)
    except is_boto3_error_code(ABSENT_CODES):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to read {method} of bucket {module.params['name']}")


def bucket_exists(module: AnsibleAWSModule, client: Any) -> bool:
    try:
        client.head_bucket(Bucket=module.params["name"], aws_retry=True)
    except is_boto3_error_code(("404", "NoSuchBucket", "NotFound")):
        return False
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to read bucket {module.params['name']}")
    return True


def compare_public_access(module: AnsibleAWSModule, client: Any) -> list[dict[str, Any]]:
    declared = module.params["public_access"]
    if declared is None:
        return []
    response = read(module, client, "get_public_access_block") or {}
    actual = response.get("PublicAccessBlockConfiguration", {})
    found = []
    for option, key in PUBLIC_ACCESS_KEYS.items():
        want = declared.get(option)
        have = bool(actual.get(key, False))
        if want is not None and want is not have:
            found.append(difference(f"public_access.{option}", want, have))
    return found


def compare_versioning(module: AnsibleAWSModule, client: Any) -> list[dict[str, Any]]:
    declared = module.params["versioning"]
    if declared is None:
        return []
    actual = (read(module, client, "get_bucket_versioning") or {}).get("Status")
    if declared and actual != "Enabled":
        return [difference("versioning", "Enabled", actual or "Disabled")]
    if not declared and actual == "Enabled":
        return [difference("versioning", "Suspended", actual)]
    return []


def compare_encryption(module: AnsibleAWSModule, client: Any) -> list[dict[str, Any]]:
    declared = module.params["encryption"]
    if declared is None:
        return []
    response = read(module, client, "get_bucket_encryption") or {}
    rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    actual = rules[0].get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") if rules else None
    return [] if actual == declared else [difference("encryption", declared, actual)]


def compare_ownership(module: AnsibleAWSModule, client: Any) -> list[dict[str, Any]]:
    declared = module.params["object_ownership"]
    if declared is None:
        return []
    response = read(module, client, "get_bucket_ownership_controls") or {}
    rules = response.get("OwnershipControls", {}).get("Rules", [])
    actual = rules[0].get("ObjectOwnership") if rules else None
    return [] if actual == declared else [difference("object_ownership", declared, actual)]


def compare_policy(module: AnsibleAWSModule, client: Any) -> list[dict[str, Any]]:
    declared = module.params["policy"]
    if declared is None:
        return []
    response = read(module, client, "get_bucket_policy")
    actual = response.get("Policy") if response else None
    if actual is not None and same_json(declared, actual):
        return []
    return [difference("policy", canonical_json(declared), canonical_json(actual) if actual else None)]


def compare_tags(module: AnsibleAWSModule, client: Any) -> list[dict[str, Any]]:
    declared = module.params["tags"]
    if declared is None:
        return []
    response = read(module, client, "get_bucket_tagging") or {}
    actual = {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}
    declared = {key: str(value) for key, value in declared.items()}
    return [] if actual == declared else [difference("tags", declared, actual)]


def declared_lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The declared rule in the API's shape, only the parts the task sets."""
    shaped: dict[str, Any] = {"Status": rule["status"].capitalize()}
    if rule.get("expiration_days") is not None:
        shaped["Expiration.Days"] = rule["expiration_days"]
    if rule.get("noncurrent_version_expiration_days") is not None:
        shaped["NoncurrentVersionExpiration.NoncurrentDays"] = rule["noncurrent_version_expiration_days"]
    if rule.get("abort_incomplete_multipart_upload_days") is not None:
        shaped["AbortIncompleteMultipartUpload.DaysAfterInitiation"] = rule["abort_incomplete_multipart_upload_days"]
    return shaped


def dotted(document: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def compare_lifecycle(module: AnsibleAWSModule, client: Any) -> list[dict[str, Any]]:
    declared_rules = module.params["lifecycle_rules"]
    if declared_rules is None:
        return []
    response = read(module, client, "get_bucket_lifecycle_configuration") or {}
    actual_rules = {rule.get("ID"): rule for rule in response.get("Rules", [])}
    found = []
    for rule in declared_rules:
        declared = declared_lifecycle_rule(rule)
        actual = actual_rules.get(rule["id"])
        if actual is None:
            found.append(difference(f"lifecycle_rules[{rule['id']}]", declared, None))
            continue
        for path, value in declared.items():
            have = dotted(actual, path)
            if not same_scalar(value, have):
                found.append(difference(f"lifecycle_rules[{rule['id']}].{path}", value, have))
    return found


def cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CORS rule in a comparable form, from the API's CamelCase or s3_cors's snake_case."""
    lookup = {key.lower().replace("_", ""): value for key, value in rule.items()}
    shaped: dict[str, Any] = {}
    for key in ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders"):
        values = lookup.get(key.lower()) or []
        shaped[key] = sorted(str(value) for value in (values if isinstance(values, list) else [values]))
    if lookup.get("maxageseconds") is not None:
        shaped["MaxAgeSeconds"] = int(lookup["maxageseconds"])
    return shaped


def compare_cors(module: AnsibleAWSModule, client: Any) -> list[dict[str, Any]]:
    declared_rules = module.params["cors_rules"]
    if declared_rules is None:
        return []
    response = read(module, client, "get_bucket_cors") or {}
    declared = canonical_json([cors_rule(rule) for rule in declared_rules])
    actual = canonical_json([cors_rule(rule) for rule in response.get("CORSRules", [])])
    return [] if declared == actual else [difference("cors_rules", declared, actual)]


COMPARISONS = (
    compare_public_access,
    compare_versioning,
    compare_encryption,
    compare_ownership,
    compare_policy,
    compare_tags,
    compare_lifecycle,
    compare_cors,
)


def main() -> None:
    lifecycle_rule = dict(
        id=dict(type="str", required=True),
        status=dict(type="str", choices=["enabled", "disabled"], default="enabled"),
        expiration_days=dict(type="int"),
        noncurrent_version_expiration_days=dict(type="int"),
        abort_incomplete_multipart_upload_days=dict(type="int"),
    )
    argument_spec = dict(
        name=dict(type="str", required=True),
        public_access=dict(type="dict", options={option: dict(type="bool") for option in PUBLIC_ACCESS_KEYS}),
        versioning=dict(type="bool"),
        encryption=dict(type="str", choices=["AES256", "aws:kms", "aws:kms:dsse"]),
        object_ownership=dict(type="str", choices=["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"]),
        policy=dict(type="json"),
        tags=dict(type="dict"),
        lifecycle_rules=dict(type="list", elements="dict", options=lifecycle_rule),
        cors_rules=dict(type="list", elements="dict"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff())
    resource = f"s3://{module.params['name']}"
    if not bucket_exists(module, client):
        module.exit_json(
            **drift_result(resource, [difference("bucket", "present", "absent")], exists=False),
            declared_policy=module.params["policy"],
            bucket=module.params["name"],
        )
    differences = [item for compare in COMPARISONS for item in compare(module, client)]
    module.exit_json(
        **drift_result(resource, differences, exists=True),
        declared_policy=module.params["policy"],
        bucket=module.params["name"],
    )


if __name__ == "__main__":
    main()
