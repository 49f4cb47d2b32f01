#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_account_public_access_block
short_description: Turn on S3 Block Public Access for the whole account
version_added: 1.0.0
description:
  - Sets the account-level S3 Block Public Access configuration (S3 Control C(PutPublicAccessBlock)), which
    applies to every bucket of the account, present and future, whatever the bucket's own setting says.
  - Reads the configuration first (C(GetPublicAccessBlock)) and writes only when a setting differs.
  - No module of amazon.aws or community.aws manages the account-level configuration.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  account_id:
    description: The account. Default is the caller's account (STS C(GetCallerIdentity)).
    type: str
  block_public_acls:
    description: Refuse new public ACLs.
    type: bool
    default: true
  ignore_public_acls:
    description: Ignore every public ACL.
    type: bool
    default: true
  block_public_policy:
    description: Refuse bucket policies that grant public access.
    type: bool
    default: true
  restrict_public_buckets:
    description: Restrict access to buckets with a public policy to AWS services and the account.
    type: bool
    default: true
  account_in_host:
    description:
      - S3 Control sends each request to C(<account id>.s3-control.<region>.amazonaws.com), and to
        C(<account id>.<host>) of a custom endpoint. An emulator on one address (the moto server) needs
        V(false), which sends the requests to the endpoint's own host.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Block public access to every bucket of the account
  s3_account_public_access_block:
    account_id: "123456789012"
"""

RETURN = r"""
account_id:
  description: The account.
  returned: always
  type: str
public_access_block:
  description: The configuration after the task (in check mode, as it would be).
  returned: always
  type: dict
  sample: {block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true}
"""

from functools import partial
from typing import Any

try:
    import botocore
except ImportError:
    botocore = None  # AWSModule reports the missing dependency

from ansible.module_utils.aws_account import caller_account
from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

SETTINGS = {
    "block_public_acls": "BlockPublicAcls",
    "ignore_public_acls": "IgnorePublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "restrict_public_buckets": "RestrictPublicBuckets",
}


def endpoint_host_only(account_id: str, request: Any, **_: Any) -> None:
    """before-send: http://<account>.127.0.0.1:5055/... -> http://127.0.0.1:5055/... (an emulator's one address)."""
    request.url = request.url.replace(f"://{account_id}.", "://", 1)


def current_block(module: AWSModule, client: Any, account_id: str) -> dict[str, bool]:
    try:
        return client.get_public_access_block(aws_retry=True, AccountId=account_id)["PublicAccessBlockConfiguration"]
    except is_boto3_error_code("NoSuchPublicAccessBlockConfiguration"):
        return {}
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Could not read the S3 Block Public Access of account {account_id}")
    return {}


def main() -> None:
    argument_spec = {
        "account_id": {"type": "str"},
        "block_public_acls": {"type": "bool", "default": True},
        "ignore_public_acls": {"type": "bool", "default": True},
        "block_public_policy": {"type": "bool", "default": True},
        "restrict_public_buckets": {"type": "bool", "default": True},
        "account_in_host": {"type": "bool", "default": True},
    }
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("s3control", retry_decorator=AWSRetry.jittered_backoff())
    account_id = caller_account(module)
    if not module.params["account_in_host"]:
        client.meta.events.register("before-send.s3-control", partial(endpoint_host_only, account_id))
    before = current_block(module, client, account_id)
    wanted = {api: module.params[option] for option, api in SETTINGS.items()}
    changed = any(bool(before.get(api)) != value for api, value in wanted.items())
    if changed and not module.check_mode:
        try:
            client.put_public_access_block(aws_retry=True, AccountId=account_id, PublicAccessBlockConfiguration=wanted)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            module.fail_json_aws(error, msg=f"Could not set the S3 Block Public Access of account {account_id}")
    module.exit_json(
        changed=changed,
        account_id=account_id,
        public_access_block=camel_dict_to_snake_dict(wanted),
        diff={"before": camel_dict_to_snake_dict(before), "after": camel_dict_to_snake_dict(wanted)},
    )


if __name__ == "__main__":
    main()
