#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secretsmanager_secrets
short_description: Create an environment's Secrets Manager secrets, reading them all at once
version_added: 1.0.0
description:
  - Reads every secret under O(prefix) with one C(ListSecrets) (descriptions, tags, rotation and
    scheduled deletion included), then for each declared secret only what the list cannot say
    (its resource policy; its value only where O(secrets[].overwrite) asks for it), and writes only
    what differs.
  - It exists because M(community.aws.secretsmanager_secret) takes one secret per call and sends
    four requests per secret on every run (C(DescribeSecret) twice, C(GetSecretValue) even when it
    must not overwrite, C(GetResourcePolicy)).
  - "Per secret it does what that module does with these options: create it with its value,
    description and tags; restore one scheduled for deletion; with O(secrets[].overwrite) put a
    different value or description (without it an existing secret's value and description stay);
    remove a resource policy (none is declared; O(purge_resource_policy)) and cancel a rotation (none
    is declared); set the tags (others removed, except AWS's own aws:*)."
  - "The values it must compare are read together: one C(BatchGetSecretValue) (up to 20 a request)
    where two or more secrets may be overwritten, C(GetSecretValue) for one. Two JSON objects with the
    same members are the same value (a structured secret written with other spacing or member order)."
  - "C(ListSecrets) is eventually consistent (it may miss changes of the last five minutes): a
    declared secret it does not show is read by name (C(DescribeSecret)) before it is created."
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no
    write. Values are never returned.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  prefix:
    description: The name prefix every declared secret has (the list reads all secrets under it).
    type: str
    required: true
  secrets:
    description: The secrets that must exist.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: The secret's name (starting with O(prefix))., type: str, required: true}
      description: {description: The secret's description., type: str, default: ""}
      secret:
        description: The value (a string; JSON text for a structured secret). Never logged nor returned.
        type: str
        required: true
      overwrite:
        description: Put O(secrets[].secret) and the description when they differ (else only on creation).
        type: bool
        default: false
  tags:
    description: The tags of every secret (others are removed, except AWS's own aws:*); not set leaves the tags alone.
    type: dict
  purge_resource_policy:
    description: Remove a resource policy a secret has (one C(GetResourcePolicy) per secret); V(false) leaves it alone.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the secrets
  secretsmanager_secrets:
    prefix: mensetsu/dev/
    tags: {Project: mensetsu, Environment: dev}
    secrets:
      - {name: mensetsu/dev/openai-api-key, description: openai-api-key, secret: "{{ key }}", overwrite: true}
      - {name: mensetsu/dev/db, description: database credentials, secret: "{{ credentials | to_json }}"}
  no_log: true
"""

RETURN = r"""
results:
  description: One entry per declared secret, in the order given (never a value).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The secret's name., type: str}
    arn: {description: The secret's ARN (absent for one check mode would create)., type: str}
    changed: {description: "Whether the secret was (or, in check mode, would be) written.", type: bool}
    changes:
      description: "What was (or would be) done: V(create), V(restore), V(update), V(delete resource policy),
        V(cancel rotation), V(tag), V(untag)."
      type: list
      elements: str
"""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.parallel_reads import early_read, read_in_parallel
from ansible.module_utils.secret_values import batch_read_values, describe_errors
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

READERS = 8  # secrets read at once (below botocore's 10 pooled connections)


def read_secrets(module: Any, client: Any, prefix: str) -> dict[str, dict[str, Any]]:
    """The secrets under the prefix by name, those scheduled for deletion included: one paginated ListSecrets."""
    found: dict[str, dict[str, Any]] = {}
    token = None
    while True:
        request: dict[str, Any] = {"Filters": [{"Key": "name", "Values": [prefix]}], "IncludePlannedDeletion": True}
        if token:
            request["NextToken"] = token
        try:
            answer = client.list_secrets(aws_retry=True, **request)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to list the secrets under {prefix}")
        # The name filter matches a prefix of the name (or of any word in it): keep the exact prefix.
        found.update({item["Name"]: item for item in answer.get("SecretList", []) if item["Name"].startswith(prefix)})
        token = answer.get("NextToken")
        if not token:
            return found


def describe(module: Any, client: Any, name: str) -> dict[str, Any] | None:
    """One secret the list did not show: ListSecrets is eventually consistent (AWS: it may miss
    changes of the last five minutes), so a missing one is asked for by name before it is created."""
    try:
        return client.describe_secret(aws_retry=True, SecretId=name)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to read the secret {name}")


def tag_changes(declared: dict[str, str] | None, current: list[dict[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Tags to set and keys to remove; none when the task declares no tags (left alone)."""
    if declared is None:
        return {}, []
    have = {tag["Key"]: tag["Value"] for tag in current or []}
    add = {key: value for key, value in declared.items() if have.get(key) != value}
    remove = sorted(key for key in have if key not in declared and not key.startswith("aws:"))
    return add, remove


def same_value(declared: str, stored: str | None) -> bool:
    """Whether the stored value is the declared one: the same text, or two JSON objects with the same
    members (a structured secret written by another tool with other spacing or member order)."""
    if stored is None or declared == stored:
        return declared == stored
    try:
        ours, theirs = json.loads(declared), json.loads(stored)
    except ValueError:
        return False
    return isinstance(ours, dict) and ours == theirs


def plan(module: Any, spec: dict[str, Any], current: dict[str, Any] | None, reads: dict[str, Any]) -> list[str]:
    """What a secret needs, from the list entry and the reads only it needs (its value where it may be
    overwritten, its resource policy): the decision of the write path.

    A secret scheduled for deletion answers neither its value nor its policy until it is restored: it
    is restored, and with overwrite its value and description are put again."""
    if current is None:
        return ["create"]
    deleted = bool(current.get("DeletedDate"))
    changes = ["restore"] if deleted else []
    if spec["overwrite"]:
        described = (current.get("Description") or "") == (spec["description"] or "")
        if deleted or not described or not same_value(spec["secret"], reads["values"].get(current["ARN"])):
            changes.append("update")
    if current.get("RotationEnabled"):
        changes.append("cancel rotation")
    if not deleted and reads["policies"].get(current["ARN"]):
        changes.append("delete resource policy")
    add, remove = tag_changes(module.params.get("tags"), current.get("Tags"))
    changes += ["tag"] if add else []
    changes += ["untag"] if remove else []
    return changes


def read(module: Any, client: Any, what: str, arn: str) -> str | None:
    """A secret's value or resource policy (None when it has none)."""
    try:
        if what == "value":
            return client.get_secret_value(aws_retry=True, SecretId=arn).get("SecretString")
        return client.get_resource_policy(aws_retry=True, SecretId=arn).get("ResourcePolicy")
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the {what} of {arn}")
    return None


def read_values(module: Any, client: Any, arns: list[str]) -> dict[str, str | None]:
    """{ARN: value} of the given secrets: GetSecretValue for one, else BatchGetSecretValue
    (module_utils/secret_values). A secret it cannot read stops the run."""
    if len(arns) < 2:
        return {arn: read(module, client, "value", arn) for arn in arns}
    try:
        values, errors = batch_read_values(client, arns)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the values of {', '.join(arns)}")
    if errors:
        module.fail_json(msg=f"Failed to read the value of {describe_errors(errors)}")
    return values


MISSED = object()  # a read by name that did not answer (no such secret yet, one scheduled for deletion, ...)


def early_reads(module: Any, client: Any, specs: list[dict[str, Any]]) -> dict[Any, Any]:
    """The reads the comparison will need, by the secrets' names: sent beside ListSecrets, so a run that
    changes nothing waits one round trip, not two. Each answers MISSED where it failed; the secret is
    then read again by its ARN (read_what_the_list_cannot_say), and a real error fails there."""

    def values(names: list[str]) -> dict[str, Any]:
        if len(names) == 1:
            return {names[0]: client.get_secret_value(aws_retry=True, SecretId=names[0]).get("SecretString")}
        found, _errors = batch_read_values(client, names)  # a secret in error is left out: MISSED
        return found

    def policy(name: str) -> Any:
        return client.get_resource_policy(aws_retry=True, SecretId=name).get("ResourcePolicy")

    reads: dict[Any, Any] = {}
    overwritten = [spec["name"] for spec in specs if spec["overwrite"]]
    if overwritten:
        reads["values"] = early_read(lambda: values(overwritten), missed={})
    if module.params.get("purge_resource_policy", True):
        reads.update(
            {("policy", spec["name"]): early_read(lambda name=spec["name"]: policy(name), MISSED) for spec in specs}
        )
    return reads


def read_what_the_list_cannot_say(
    module: Any,
    client: Any,
    specs: list[dict[str, Any]],
    current: list[dict[str, Any] | None],
    early: dict[Any, Any] | None = None,
) -> dict[str, Any]:
    """The values the comparison needs (existing secrets the task may overwrite) and, unless the task
    leaves them alone, the resource policies: those the early reads by name did not answer, all in
    flight together."""
    early = early or {}
    live = [(spec, found) for spec, found in zip(specs, current, strict=True) if found and not found.get("DeletedDate")]
    early_values = early.get("values") or {}
    known_values = {found["ARN"]: early_values[spec["name"]] for spec, found in live if spec["name"] in early_values}
    overwritten = [found["ARN"] for spec, found in live if spec["overwrite"] and found["ARN"] not in known_values]
    purge = module.params.get("purge_resource_policy", True)
    known_policies = {
        found["ARN"]: early[("policy", spec["name"])]
        for spec, found in live
        if early.get(("policy", spec["name"]), MISSED) is not MISSED
    }
    with ThreadPoolExecutor(max_workers=max(1, min(READERS, len(live) + 1))) as pool:
        values = pool.submit(read_values, module, client, overwritten)
        policies = {
            found["ARN"]: pool.submit(read, module, client, "policy", found["ARN"])
            for _spec, found in live
            if purge and found["ARN"] not in known_policies
        }
        return {
            "values": {**known_values, **values.result()},
            "policies": {**known_policies, **{arn: future.result() for arn, future in policies.items()}},
        }


def apply(module: Any, client: Any, spec: dict[str, Any], current: dict[str, Any] | None, changes: list[str]) -> str:
    """Send the planned writes; the secret's ARN."""
    name, tags = spec["name"], module.params.get("tags")
    if "create" in changes:
        request: dict[str, Any] = {
            "Name": name,
            "Description": spec["description"] or "",
            "SecretString": spec["secret"],
        }
        if tags:
            request["Tags"] = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
        return client.create_secret(aws_retry=True, **request)["ARN"]
    arn = current["ARN"]
    if "restore" in changes:
        client.restore_secret(aws_retry=True, SecretId=arn)
        # A deleted secret's resource policy is unreadable before the restore.
        if module.params.get("purge_resource_policy", True) and read(module, client, "policy", arn):
            changes.append("delete resource policy")
    if "update" in changes:
        client.update_secret(
            aws_retry=True, SecretId=arn, Description=spec["description"] or "", SecretString=spec["secret"]
        )
    if "cancel rotation" in changes:
        client.cancel_rotate_secret(aws_retry=True, SecretId=arn)
    if "delete resource policy" in changes:
        client.delete_resource_policy(aws_retry=True, SecretId=arn)
    add, remove = tag_changes(tags, current.get("Tags"))
    if add:
        client.tag_resource(aws_retry=True, SecretId=arn, Tags=[{"Key": k, "Value": v} for k, v in sorted(add.items())])
    if remove:
        client.untag_resource(aws_retry=True, SecretId=arn, TagKeys=remove)
    return arn


def converge(module: Any, client: Any) -> dict[str, Any]:
    prefix, specs = module.params["prefix"], module.params["secrets"]
    names = [spec["name"] for spec in specs]
    wrong = sorted({name for name in names if names.count(name) > 1 or not name.startswith(prefix)})
    if wrong:
        module.fail_json(msg=f"secrets named twice or outside the prefix {prefix}: {', '.join(wrong)}")
    # The secrets' own reads are independent: they are sent side by side on the one client (botocore's
    # clients are thread-safe; its pool keeps 10 connections alive): the list with the values and
    # resource policies asked by name, then a secret the list missed (by name; none on a settled
    # account) and what the reads by name did not answer. The writes follow one after another.
    early = read_in_parallel(
        module, {"list": lambda: read_secrets(module, client, prefix), **early_reads(module, client, specs)}
    )
    existing = early.pop("list")
    missing = [spec["name"] for spec in specs if spec["name"] not in existing]
    with ThreadPoolExecutor(max_workers=max(1, min(READERS, len(missing)))) as pool:
        existing.update(zip(missing, pool.map(lambda name: describe(module, client, name), missing), strict=True))
    current = [existing.get(spec["name"]) for spec in specs]
    reads = read_what_the_list_cannot_say(module, client, specs, current, early)
    results = []
    for number, spec in enumerate(specs):
        changes = plan(module, spec, current[number], reads)
        current_entry = current[number]
        entry: dict[str, Any] = {"name": spec["name"], "changed": bool(changes), "changes": changes}
        arn = current_entry["ARN"] if current_entry else None
        if changes and not module.check_mode:
            try:
                arn = apply(module, client, spec, current_entry, changes)
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg=f"Failed to {changes[0]} the secret {spec['name']}")
        if arn:
            entry["arn"] = arn
        results.append(entry)
    return {"changed": any(entry["changed"] for entry in results), "results": results}


def main() -> None:
    secret_options = dict(
        name=dict(type="str", required=True),
        description=dict(type="str", default=""),
        secret=dict(type="str", required=True, no_log=True),
        overwrite=dict(type="bool", default=False),
    )
    argument_spec = dict(
        prefix=dict(type="str", required=True),
        secrets=dict(type="list", elements="dict", required=True, options=secret_options, no_log=False),
        tags=dict(type="dict"),
        purge_resource_policy=dict(type="bool", default=True),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("secretsmanager", retry_decorator=AWSRetry.jittered_backoff())
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
