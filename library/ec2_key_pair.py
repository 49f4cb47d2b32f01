#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_key_pair
short_description: An EC2 key pair imported from a public key, read in one request
version_added: 1.0.0
description:
  - Reads the key pair with one C(DescribeKeyPairs) (its tags and, with C(IncludePublicKey), its public
    key come with it), compares it with the declaration and writes only what differs. C(ImportKeyPair)
    for a missing pair, C(CreateTags) / C(DeleteTags) for its tags, and, with O(replace), C(DeleteKeyPair)
    and C(ImportKeyPair) for a pair whose public key is another.
  - It exists because M(amazon.aws.ec2_key) reads the pair, its tags and the pair again, one request
    after another (three round trips on a run that changes nothing), can compare the key material only
    by importing it under a temporary name (two writes on every run with C(force)), and so reports
    every existing pair as updated in check mode.
  - Only a public key is taken. AWS never generates the pair, so no private key is ever in a result.
  - Public keys are compared by their type and key data (AWS answers the key with a comment of its own).
    Without O(replace) a pair whose key is another is kept, as an operator chose, and a warning says so.
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no write.
  - Removal stays with M(amazon.aws.ec2_key) (C(state=absent)).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The key pair's name.
    type: str
    required: true
  public_key:
    description: The public key, in OpenSSH format (C(ssh-ed25519 AAAA... comment)).
    type: str
    required: true
  tags:
    description: The key pair's tags (exactly these).
    type: dict
    default: {}
  replace:
    description: Replace an existing pair whose public key is another (a key rotation).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Import the administrators' SSH key
  ec2_key_pair:
    name: mensetsu-dev-admin
    public_key: "{{ lookup('file', 'admin.pub') }}"
    tags: {Project: mensetsu, Environment: dev}
"""

RETURN = r"""
key:
  description: The key pair (empty id and fingerprint for one check mode would import).
  returned: always
  type: dict
  contains:
    name: {description: The name., type: str}
    id: {description: "The key pair's id (C(key-...)).", type: str}
    fingerprint: {description: The fingerprint AWS computed., type: str}
    type: {description: "V(rsa) or V(ed25519).", type: str}
    tags: {description: The tags., type: dict}
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import differences, ec2_tags, tag_specifications, write_ec2_tags
from ansible.module_utils.task_warnings import warn
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def key_data(public_key: str | None) -> str:
    """`<type> <key data>` of an OpenSSH public key, without its comment."""
    return " ".join(str(public_key or "").split()[:2])


def find(client: Any, name: str) -> dict[str, Any] | None:
    try:
        pairs = client.describe_key_pairs(aws_retry=True, KeyNames=[name], IncludePublicKey=True)["KeyPairs"]
    except is_boto3_error_code("InvalidKeyPair.NotFound"):
        return None
    return pairs[0] if pairs else None


def converge(module: Any, client: Any) -> dict[str, Any]:
    name, public_key = module.params["name"], module.params["public_key"].strip()
    tags = {str(key): str(value) for key, value in (module.params["tags"] or {}).items()}
    try:
        pair = find(client, name)
        declared: dict[str, Any] = {"tags": tags}
        actual: dict[str, Any] | None = {"tags": ec2_tags(pair)} if pair else None
        other_key = pair is not None and key_data(pair.get("PublicKey")) != key_data(public_key)
        if other_key and module.params["replace"]:
            declared["public_key"], actual["public_key"] = key_data(public_key), key_data(pair.get("PublicKey"))
        elif other_key:
            warn(
                module,
                f"The key pair {name} holds another public key than the one declared; it is kept "
                "(replace: true replaces it; roles/aws_compute: aws_compute_replace_ssh_key).",
            )
        diff = differences(declared, actual)
        if diff and not module.check_mode:
            if pair and "public_key" in diff["after"]:
                client.delete_key_pair(aws_retry=True, KeyName=name)
                pair = None
            if pair:
                write_ec2_tags(client, pair["KeyPairId"], tags, actual["tags"])
            else:
                pair = client.import_key_pair(
                    aws_retry=True,
                    KeyName=name,
                    PublicKeyMaterial=public_key.encode(),
                    TagSpecifications=tag_specifications("key-pair", tags),
                )
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to converge key pair {name}")
    return {
        "changed": bool(diff),
        "key": {
            "name": name,
            "id": (pair or {}).get("KeyPairId", ""),
            "fingerprint": (pair or {}).get("KeyFingerprint", ""),
            "type": (pair or {}).get("KeyType", ""),
            "tags": tags if diff and not module.check_mode else (actual or declared)["tags"],
        },
        "diff": diff or {"before": {}, "after": {}},
    }


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        public_key=dict(type="str", required=True),
        tags=dict(type="dict", default={}),
        replace=dict(type="bool", default=False),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
