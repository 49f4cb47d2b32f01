#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_account_info
short_description: The account and partition the credentials work in, from one STS GetCallerIdentity
version_added: 1.0.0
description:
  - "Asks STS C(GetCallerIdentity) who the credentials are, and returns the account id, the caller's
    ARN and the partition (the ARN's second field: V(aws), V(aws-cn), V(aws-us-gov))."
  - "It exists because M(amazon.aws.aws_caller_info) also asks IAM C(ListAccountAliases) for the
    account's alias, which the playbooks never use: one more request (and round trip) at the start of
    every run, and one more permission the read-only drift role would need."
  - Read-only; in check mode it reads as in a normal run. C(GetCallerIdentity) needs no permission.
author:
  - mensetsu platform team (!UNKNOWN)
options: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the AWS account the run works in
  aws_account_info:
  register: caller
"""

RETURN = r"""
account:
  description: The account id the credentials belong to.
  returned: always
  type: str
  sample: "123456789012"
arn:
  description: The caller's ARN (a user, a role session, the root).
  returned: always
  type: str
  sample: arn:aws:sts::123456789012:assumed-role/deploy/ci
partition:
  description: The partition of the caller's ARN.
  returned: always
  type: str
  sample: aws
user_id:
  description: The caller's unique id.
  returned: always
  type: str
  sample: AROAEXAMPLEID:ci
"""

from ansible.module_utils.aws_account import caller_identity
from ansible.module_utils.aws_module import AWSModule


def main() -> None:
    module = AWSModule(argument_spec={}, supports_check_mode=True)
    identity = caller_identity(module, "Failed to read the caller's identity (STS GetCallerIdentity)")
    module.exit_json(
        changed=False,
        account=identity["Account"],
        arn=identity["Arn"],
        partition=identity["Arn"].split(":")[1],
        user_id=identity["UserId"],
    )


if __name__ == "__main__":
    main()
