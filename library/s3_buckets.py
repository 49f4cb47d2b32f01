#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_buckets
short_description: Several S3 buckets and the settings the platform declares for them, in one call
version_added: 1.0.0
description:
  - Manages a list of S3 buckets in one call. For each bucket it reads only the attributes the
    task declares, every bucket and attribute in parallel threads over one client with kept-alive
    connections, compares each attribute with its declaration in one function, and writes only
    what differs (the bucket itself first when it is missing).
  - The same comparison decides a converge's writes, what check mode reports, and what a drift
    run (C(playbooks/drift.yml), check mode) reports; check mode sends no write.
  - An attribute the task does not declare is neither read nor changed.
  - Replaces M(amazon.aws.s3_bucket) (which reads about 12 settings per bucket, most of them
    undeclared, one request after another, and has no check mode), M(community.aws.s3_lifecycle),
    M(community.aws.s3_cors) (no check mode either) and the logging module; no ACL is ever sent,
    the log bucket's policy grants C(logging.s3.amazonaws.com).
  - "Bucket names are global. Every request on a bucket carries S3's bucket owner condition
    (C(ExpectedBucketOwner), O(account_id)): a bucket another account holds answers 403 to the reads,
    and the task stops before any write with a message naming O(buckets[].setting) (C(ListBuckets)
    then tells that from this account's bucket that the caller may not read). No request of its own
    when O(account_id) is given: the reads it makes anyway carry the condition."
author:
  - mensetsu platform team (!UNKNOWN)
options:
  account_id:
    description:
      - The account that must own every bucket (C(ExpectedBucketOwner) on each request that names one).
      - Not given, the caller's account (one STS C(GetCallerIdentity)).
    type: str
  buckets:
    description: The buckets and what is declared for each.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The bucket's name.
        type: str
        required: true
      setting:
        description:
          - The setting the name comes from (e.g. V(static_bucket_name)), named in the message when
            another account holds the name.
        type: str
      public_access:
        description: The bucket's public access block; the flags not given keep their value.
        type: dict
        suboptions:
          block_public_acls: {description: BlockPublicAcls., type: bool}
          ignore_public_acls: {description: IgnorePublicAcls., type: bool}
          block_public_policy: {description: BlockPublicPolicy., type: bool}
          restrict_public_buckets: {description: RestrictPublicBuckets., type: bool}
      object_ownership:
        description: The object ownership.
        type: str
        choices: [BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter]
      encryption:
        description: The default encryption algorithm (new buckets have C(AES256), SSE-S3, since January 2023).
        type: str
        choices: [AES256, "aws:kms", "aws:kms:dsse"]
      versioning:
        description:
          - V(true) enables versioning. V(false) suspends it when it is enabled; a bucket that was
            never versioned stays so.
        type: bool
      policy:
        description:
          - The bucket policy (a JSON document), compared regardless of key and list order. An
            empty value leaves the policy undeclared (another task may own it).
        type: json
      tags:
        description: The bucket's tags, exactly (others are removed).
        type: dict
      lifecycle_rules:
        description:
          - Lifecycle rules that must exist, identified by O(buckets[].lifecycle_rules[].id), each
            for every key of the bucket (prefix V("")). Rules of other ids are kept.
          - Only the parts given are compared; a differing rule is replaced as a whole.
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
          - The CORS configuration as a whole (it replaces any other), compared regardless of the
            order of rules and values. Each rule takes the keys V(allowed_origins),
            V(allowed_methods), V(allowed_headers), V(expose_headers), V(max_age_seconds).
        type: list
        elements: dict
      logging:
        description:
          - Server access logging to O(buckets[].logging.target_bucket), whose policy must grant
            C(logging.s3.amazonaws.com) the write (no ACL is sent).
        type: dict
        suboptions:
          target_bucket: {description: The bucket that receives the logs., type: str, required: true}
          target_prefix: {description: The key prefix of the log objects., type: str, default: ""}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the buckets, private, encrypted and versioned
  s3_buckets:
    buckets:
      - name: mensetsu-dev-media-123456789012
        public_access:
          block_public_acls: true
          ignore_public_acls: true
          block_public_policy: true
          restrict_public_buckets: true
        object_ownership: BucketOwnerEnforced
        encryption: AES256
        versioning: true
        tags: {Name: mensetsu-dev-media-123456789012, Purpose: media}
        lifecycle_rules:
          - id: expire-noncurrent-and-abort-uploads
            noncurrent_version_expiration_days: 30
            abort_incomplete_multipart_upload_days: 7
        logging:
          target_bucket: mensetsu-dev-logs-123456789012
          target_prefix: s3/mensetsu-dev-media-123456789012/
  register: buckets
"""

RETURN = r"""
results:
  description: One entry per bucket, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The bucket's name.
      type: str
    bucket:
      description: The bucket's name (the unmanaged scan of C(playbooks/drift.yml) keys the declared policies by it).
      type: str
    resource:
      description: What was compared.
      type: str
      sample: s3://mensetsu-dev-media-123456789012
    exists:
      description: Whether the bucket existed before the run.
      type: bool
    changed:
      description: Whether the bucket differed from its declaration (in check mode, would be changed).
      type: bool
    declared_policy:
      description: The declared policy as given; null when undeclared.
      type: str
    differences:
      description: One entry per attribute that differed from the declaration.
      type: list
      elements: dict
      contains:
        attribute: {description: "The attribute, e.g. C(public_access.block_public_acls).", type: str}
        declared: {description: The declared value., type: raw}
        actual: {description: The value the API returned (null when absent)., type: raw}
      sample: [{"attribute": "versioning", "declared": "Enabled", "actual": "Suspended"}]
    diff:
      description: The differing attributes before (actual) and after (declared).
      type: dict
diff:
  description: Per bucket that differs, its attributes before and after.
  returned: always
  type: dict
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_account import caller_account
from ansible.module_utils.aws_drift import canonical_json, difference, same_json, same_scalar
from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.s3_owner import DENIED_CODES, OwnerConditionClient
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

PUBLIC_ACCESS_KEYS = {
    "block_public_acls": "BlockPublicAcls",
    "ignore_public_acls": "IgnorePublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "restrict_public_buckets": "RestrictPublicBuckets",
}
NO_BUCKET_CODES = ("NoSuchBucket", "404", "NotFound")
MAX_THREADS = 16


class BucketMissing(Exception):
    """A read answered NoSuchBucket."""


class WriteFailed(Exception):
    """A write failed in a worker thread; the main thread reports it (its cause is the AWS error)."""


def error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def get(client: Any, method: str, bucket: str, absent_code: str | None) -> dict[str, Any] | None:
    """A Get* response, None when the setting is absent (its own not-found code)."""
    try:
        return getattr(client, method)(Bucket=bucket, aws_retry=True)
    except AWS_ERRORS as e:
        code = error_code(e)
        if absent_code is not None and code == absent_code:
            return None
        if code in NO_BUCKET_CODES:
            raise BucketMissing(bucket) from e
        raise


# --- One reader, one shaper of the declaration, one writer per attribute -------------------------
# read(client, bucket) -> the actual value in the declaration's shape (None when absent);
# want(declared) -> the declaration in that shape; compare() below is the one comparison.


def read_public_access(client: Any, bucket: str) -> dict[str, bool]:
    response = get(client, "get_public_access_block", bucket, "NoSuchPublicAccessBlockConfiguration") or {}
    actual = response.get("PublicAccessBlockConfiguration", {})
    return {option: bool(actual.get(key, False)) for option, key in PUBLIC_ACCESS_KEYS.items()}


def write_public_access(client: Any, bucket: str, declared: dict[str, Any], actual: Any) -> None:
    merged = {**(actual or {}), **{key: value for key, value in declared.items() if value is not None}}
    config = {key: bool(merged.get(option, False)) for option, key in PUBLIC_ACCESS_KEYS.items()}
    client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config, aws_retry=True)


def read_ownership(client: Any, bucket: str) -> str | None:
    response = get(client, "get_bucket_ownership_controls", bucket, "OwnershipControlsNotFoundError") or {}
    rules = response.get("OwnershipControls", {}).get("Rules", [])
    return rules[0].get("ObjectOwnership") if rules else None


def write_ownership(client: Any, bucket: str, declared: str, actual: Any) -> None:
    controls = {"Rules": [{"ObjectOwnership": declared}]}
    client.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=controls, aws_retry=True)


def read_encryption(client: Any, bucket: str) -> str | None:
    response = get(client, "get_bucket_encryption", bucket, "ServerSideEncryptionConfigurationNotFoundError") or {}
    rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    return rules[0].get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") if rules else None


def write_encryption(client: Any, bucket: str, declared: str, actual: Any) -> None:
    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": declared}}]}
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=config, aws_retry=True)


def read_versioning(client: Any, bucket: str) -> str:
    # A bucket that was never versioned answers without a Status.
    return (get(client, "get_bucket_versioning", bucket, None) or {}).get("Status") or "Disabled"


def want_versioning(declared: bool, actual: str) -> str:
    """Enabled, or for false: Suspended when it is enabled, else whatever it is (never versioned)."""
    if declared:
        return "Enabled"
    return "Suspended" if actual == "Enabled" else actual


def write_versioning(client: Any, bucket: str, declared: bool, actual: Any) -> None:
    status = "Enabled" if declared else "Suspended"
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status}, aws_retry=True)


def read_policy(client: Any, bucket: str) -> str | None:
    response = get(client, "get_bucket_policy", bucket, "NoSuchBucketPolicy")
    return response.get("Policy") if response else None


def write_policy(client: Any, bucket: str, declared: str, actual: Any) -> None:
    client.put_bucket_policy(Bucket=bucket, Policy=declared, aws_retry=True)


def read_tags(client: Any, bucket: str) -> dict[str, str]:
    response = get(client, "get_bucket_tagging", bucket, "NoSuchTagSet") or {}
    return {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}


def want_tags(declared: dict[str, Any]) -> dict[str, str]:
    return {str(key): str(value) for key, value in declared.items()}


def write_tags(client: Any, bucket: str, declared: dict[str, Any], actual: Any) -> None:
    tags = want_tags(declared)
    if not tags:
        client.delete_bucket_tagging(Bucket=bucket, aws_retry=True)
        return
    tag_set = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
    client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_set}, aws_retry=True)


def read_lifecycle(client: Any, bucket: str) -> list[dict[str, Any]]:
    response = get(client, "get_bucket_lifecycle_configuration", bucket, "NoSuchLifecycleConfiguration") or {}
    return list(response.get("Rules", []))


def lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The declared rule as the API takes it (every key of the bucket)."""
    shaped: dict[str, Any] = {"ID": rule["id"], "Filter": {"Prefix": ""}, "Status": rule["status"].capitalize()}
    if rule.get("expiration_days") is not None:
        shaped["Expiration"] = {"Days": rule["expiration_days"]}
    if rule.get("noncurrent_version_expiration_days") is not None:
        shaped["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["noncurrent_version_expiration_days"]}
    if rule.get("abort_incomplete_multipart_upload_days") is not None:
        days = rule["abort_incomplete_multipart_upload_days"]
        shaped["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return shaped


def declared_lifecycle_paths(rule: dict[str, Any]) -> dict[str, Any]:
    """The parts of a declared rule that are compared, by their path in the API's rule."""
    shaped = lifecycle_rule(rule)
    paths = {"Status": shaped["Status"]}
    for key in ("Expiration", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
        for inner, value in shaped.get(key, {}).items():
            paths[f"{key}.{inner}"] = value
    return paths


def dotted(document: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def write_lifecycle(client: Any, bucket: str, declared: list[dict[str, Any]], actual: Any) -> None:
    """The declared rules replace the rules of their ids; the others stay as they are."""
    declared_ids = {rule["id"] for rule in declared}
    kept = [rule for rule in actual or [] if rule.get("ID") not in declared_ids]
    rules = kept + [lifecycle_rule(rule) for rule in declared]
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules}, aws_retry=True)


def read_cors(client: Any, bucket: str) -> list[dict[str, Any]]:
    response = get(client, "get_bucket_cors", bucket, "NoSuchCORSConfiguration") or {}
    return list(response.get("CORSRules", []))


def cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CORS rule in the API's shape, from the API's CamelCase or the declaration's snake_case."""
    lookup = {key.lower().replace("_", ""): value for key, value in rule.items()}
    shaped: dict[str, Any] = {}
    for key in ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders"):
        values = lookup.get(key.lower()) or []
        shaped[key] = sorted(str(value) for value in (values if isinstance(values, list) else [values]))
    if lookup.get("maxageseconds") is not None:
        shaped["MaxAgeSeconds"] = int(lookup["maxageseconds"])
    return shaped


def write_cors(client: Any, bucket: str, declared: list[dict[str, Any]], actual: Any) -> None:
    if not declared:
        client.delete_bucket_cors(Bucket=bucket, aws_retry=True)
        return
    rules = [{key: value for key, value in cors_rule(rule).items() if value != []} for rule in declared]
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules}, aws_retry=True)


def read_logging(client: Any, bucket: str) -> dict[str, str]:
    enabled = (get(client, "get_bucket_logging", bucket, None) or {}).get("LoggingEnabled") or {}
    if not enabled:
        return {}
    return {"target_bucket": enabled.get("TargetBucket", ""), "target_prefix": enabled.get("TargetPrefix", "")}


def write_logging(client: Any, bucket: str, declared: dict[str, str], actual: Any) -> None:
    status = {"LoggingEnabled": {"TargetBucket": declared["target_bucket"], "TargetPrefix": declared["target_prefix"]}}
    client.put_bucket_logging(Bucket=bucket, BucketLoggingStatus=status, aws_retry=True)


READERS: dict[str, Callable[[Any, str], Any]] = {
    "public_access": read_public_access,
    "object_ownership": read_ownership,
    "encryption": read_encryption,
    "versioning": read_versioning,
    "policy": read_policy,
    "tags": read_tags,
    "lifecycle_rules": read_lifecycle,
    "cors_rules": read_cors,
    "logging": read_logging,
}
# The order of the writes: the bucket private before anything else.
WRITERS: dict[str, Callable[[Any, str, Any, Any], None]] = {
    "public_access": write_public_access,
    "object_ownership": write_ownership,
    "encryption": write_encryption,
    "versioning": write_versioning,
    "policy": write_policy,
    "tags": write_tags,
    "lifecycle_rules": write_lifecycle,
    "cors_rules": write_cors,
    "logging": write_logging,
}


def compare(attribute: str, declared: Any, actual: Any) -> list[dict[str, Any]]:
    """THE comparison: the differences between a declared attribute and the value read. A converge
    writes the attributes it returns differences for; check mode and drift report them."""
    if attribute == "public_access":
        return [
            difference(f"public_access.{option}", want, actual.get(option, False))
            for option, want in declared.items()
            if want is not None and want is not actual.get(option, False)
        ]
    if attribute == "versioning":
        want = want_versioning(declared, actual)
        return [] if want == actual else [difference("versioning", want, actual)]
    if attribute == "policy":
        if actual is not None and same_json(declared, actual):
            return []
        return [difference("policy", canonical_json(declared), canonical_json(actual) if actual else None)]
    if attribute == "tags":
        want = want_tags(declared)
        return [] if want == actual else [difference("tags", want, actual)]
    if attribute == "lifecycle_rules":
        by_id = {rule.get("ID"): rule for rule in actual}
        found = []
        for rule in declared:
            paths = declared_lifecycle_paths(rule)
            have = by_id.get(rule["id"])
            if have is None:
                found.append(difference(f"lifecycle_rules[{rule['id']}]", paths, None))
                continue
            found += [
                difference(f"lifecycle_rules[{rule['id']}].{path}", value, dotted(have, path))
                for path, value in paths.items()
                if not same_scalar(value, dotted(have, path))
            ]
        return found
    if attribute == "cors_rules":
        want = canonical_json([cors_rule(rule) for rule in declared])
        have = canonical_json([cors_rule(rule) for rule in actual])
        return [] if want == have else [difference("cors_rules", want, have)]
    if attribute == "logging":
        want = {"target_bucket": declared["target_bucket"], "target_prefix": declared["target_prefix"]}
        return [] if want == actual else [difference("logging", want, actual or None)]
    # object_ownership, encryption: one scalar each
    return [] if declared == actual else [difference(attribute, declared, actual)]


def declared_attributes(bucket: dict[str, Any]) -> dict[str, Any]:
    """The attributes the task declares (an empty policy is undeclared)."""
    declared = {key: bucket[key] for key in READERS if bucket.get(key) is not None}
    if not declared.get("policy", "x").strip():
        declared.pop("policy")
    return declared


class Buckets:
    def __init__(self, module: AWSModule, client: Any = None, threads: int = MAX_THREADS, owner: str = "") -> None:
        """`owner`: the account every bucket must belong to (the condition on each request); empty, none."""
        self.module = module
        if client is None:
            config = Config(max_pool_connections=MAX_THREADS, tcp_keepalive=True)
            client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff(), config=config)
        self.owner = owner
        self.client = OwnerConditionClient(client, owner) if owner else client
        self.pool = ThreadPoolExecutor(max_workers=threads)

    def fail(self, error: Exception, bucket: str, what: str) -> None:
        self.module.fail_json_aws(error, msg=f"Failed to {what} of bucket {bucket}")

    def read_all(self, buckets: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """Every declared attribute of every bucket, read in parallel; None for a missing bucket."""
        jobs = []
        for bucket in buckets:
            attributes = list(declared_attributes(bucket)) or ["exists"]
            for attribute in attributes:
                reader = READERS.get(attribute, self._head)
                jobs.append((bucket["name"], attribute, self.pool.submit(reader, self.client, bucket["name"])))
        states: dict[str, dict[str, Any] | None] = {bucket["name"]: {} for bucket in buckets}
        refused: dict[str, tuple[str, Exception]] = {}
        for name, attribute, future in jobs:
            try:
                value = future.result()
            except BucketMissing:
                states[name] = None
                continue
            except AWS_ERRORS as e:
                if not (self.owner and error_code(e) in DENIED_CODES):
                    self.fail(e, name, f"read the {attribute}")
                refused.setdefault(name, (attribute, e))
                continue
            if states[name] is not None:
                states[name][attribute] = value  # type: ignore[index]
        if refused:
            self.stop_on_denied(buckets, refused)
        return [states[bucket["name"]] for bucket in buckets]

    def stop_on_denied(self, buckets: list[dict[str, Any]], refused: dict[str, tuple[str, Exception]]) -> None:
        """Reads under the owner condition answered 403: another account holds the name, unless the
        account owns the bucket (ListBuckets) and the caller may not read it. Stops the task either way."""
        try:
            owned = {name for name in refused if self._lists(name)}
        except AWS_ERRORS as e:
            denied_names = ", ".join(refused)
            self.module.fail_json_aws(e, msg=f"Failed to list the buckets (reads of {denied_names} were denied)")
        for name, (attribute, error) in refused.items():
            if name in owned:
                self.fail(error, name, f"read the {attribute}")
        taken = [bucket for bucket in buckets if bucket["name"] in refused]
        self.module.fail_json(
            msg=" ".join(
                f"{bucket.get('setting') or 'buckets[].name'}: the bucket name {bucket['name']} belongs to another AWS "
                f"account (bucket names are global; it answers 403 to this account, {self.owner}). Set "
                f"{bucket.get('setting') or 'the name'} to a free name."
                for bucket in taken
            ),
            taken=[bucket["name"] for bucket in taken],
        )

    def _lists(self, name: str) -> bool:
        """Whether ListBuckets names this account's bucket `name` (by its prefix, paged: AWS refuses an
        unpaged ListBuckets from an account allowed more than 10,000 buckets)."""
        request: dict[str, Any] = {"Prefix": name, "MaxBuckets": 1000}
        while True:
            page = self.client.list_buckets(aws_retry=True, **request)
            if any(bucket["Name"] == name for bucket in page.get("Buckets", [])):
                return True
            if not page.get("ContinuationToken"):
                return False
            request["ContinuationToken"] = page["ContinuationToken"]

    @staticmethod
    def _head(client: Any, bucket: str) -> bool:
        try:
            client.head_bucket(Bucket=bucket, aws_retry=True)
        except AWS_ERRORS as e:
            if error_code(e) in NO_BUCKET_CODES:
                raise BucketMissing(bucket) from e
            raise
        return True

    def create(self, name: str) -> None:
        """Create a bucket and wait until it answers; raises WriteFailed."""
        region = self.module.region
        arguments: dict[str, Any] = {"Bucket": name}
        if region and region != "us-east-1":  # us-east-1 refuses its own LocationConstraint
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(aws_retry=True, **arguments)
        except AWS_ERRORS as e:
            if error_code(e) != "BucketAlreadyOwnedByYou":
                raise WriteFailed("create") from e
        try:
            self.client.get_waiter("bucket_exists").wait(Bucket=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
        except AWS_ERRORS as e:  # a WaiterError is a BotoCoreError
            raise WriteFailed("wait for the creation") from e

    def converge(self, bucket: dict[str, Any], state: dict[str, Any], declared: dict[str, Any]) -> list:
        """The differences of one existing bucket, written unless in check mode."""
        found = []
        for attribute, writer in WRITERS.items():
            if attribute not in declared:
                continue
            differences = compare(attribute, declared[attribute], state[attribute])
            found += differences
            if differences and not self.module.check_mode:
                try:
                    writer(self.client, bucket["name"], declared[attribute], state[attribute])
                except AWS_ERRORS as e:
                    raise WriteFailed(f"set the {attribute}") from e
        return found

    def run(self, buckets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        states = self.read_all(buckets)
        missing = [bucket for bucket, state in zip(buckets, states, strict=True) if state is None]
        created: dict[str, dict[str, Any] | None] = {}
        if missing and not self.module.check_mode:
            creations = [(bucket["name"], self.pool.submit(self.create, bucket["name"])) for bucket in missing]
            for name, future in creations:
                try:
                    future.result()
                except WriteFailed as e:
                    self.fail(e.__cause__ or e, name, str(e))
            # A new bucket already has AWS's defaults (private, SSE-S3, owner enforced): read them.
            created = dict(zip([bucket["name"] for bucket in missing], self.read_all(missing), strict=True))
        jobs = []
        for bucket, state in zip(buckets, states, strict=True):
            exists = state is not None
            state = state if exists else created.get(bucket["name"])
            jobs.append((bucket, exists, state, self.pool.submit(self._converge_one, bucket, state)))
        results = []
        for bucket, exists, _state, future in jobs:
            try:
                found = future.result()
            except WriteFailed as e:  # reported here, once, not from the worker thread
                self.fail(e.__cause__ or e, bucket["name"], str(e))
            if not exists:
                found = [difference("bucket", "present", "absent"), *found]
            results.append(result_entry(bucket, exists, found))
        return results

    def _converge_one(self, bucket: dict[str, Any], state: dict[str, Any] | None) -> list[dict[str, Any]]:
        if state is None:
            if not self.module.check_mode:  # created, yet its reads still say NoSuchBucket
                raise WriteFailed("read the new bucket")
            return []  # check mode: a missing bucket is one difference
        return self.converge(bucket, state, declared_attributes(bucket))


def result_entry(bucket: dict[str, Any], exists: bool, found: list[dict[str, Any]]) -> dict[str, Any]:
    policy = declared_attributes(bucket).get("policy")
    return {
        "name": bucket["name"],
        "bucket": bucket["name"],
        "resource": f"s3://{bucket['name']}",
        "exists": exists,
        "changed": bool(found),
        "declared_policy": policy,
        "differences": found,
        "diff": {
            "before": {item["attribute"]: item["actual"] for item in found},
            "after": {item["attribute"]: item["declared"] for item in found},
        },
    }


def main() -> None:
    lifecycle_rule_spec = dict(
        id=dict(type="str", required=True),
        status=dict(type="str", choices=["enabled", "disabled"], default="enabled"),
        expiration_days=dict(type="int"),
        noncurrent_version_expiration_days=dict(type="int"),
        abort_incomplete_multipart_upload_days=dict(type="int"),
    )
    bucket_spec = dict(
        name=dict(type="str", required=True),
        setting=dict(type="str"),
        public_access=dict(type="dict", options={option: dict(type="bool") for option in PUBLIC_ACCESS_KEYS}),
        object_ownership=dict(type="str", choices=["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"]),
        encryption=dict(type="str", choices=["AES256", "aws:kms", "aws:kms:dsse"]),
        versioning=dict(type="bool"),
        policy=dict(type="json"),
        tags=dict(type="dict"),
        lifecycle_rules=dict(type="list", elements="dict", options=lifecycle_rule_spec),
        cors_rules=dict(type="list", elements="dict"),
        logging=dict(
            type="dict",
            options=dict(target_bucket=dict(type="str", required=True), target_prefix=dict(type="str", default="")),
        ),
    )
    argument_spec = dict(
        buckets=dict(type="list", elements="dict", required=True, options=bucket_spec),
        account_id=dict(type="str"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    names = [bucket["name"] for bucket in module.params["buckets"]]
    if len(set(names)) != len(names):
        module.fail_json(msg=f"buckets: a name appears twice: {names}")
    runner = Buckets(module, owner=caller_account(module))
    try:
        results = runner.run(module.params["buckets"])
    finally:
        runner.pool.shutdown(wait=True)
    changed = [entry for entry in results if entry["changed"]]
    module.exit_json(
        changed=bool(changed),
        results=results,
        diff={
            "before": {entry["name"]: entry["diff"]["before"] for entry in changed},
            "after": {entry["name"]: entry["diff"]["after"] for entry in changed},
        },
    )


if __name__ == "__main__":
    main()
