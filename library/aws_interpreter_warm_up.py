#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_interpreter_warm_up
short_description: Import boto3 and read AWS service models into the interpreter that runs the AWS modules
version_added: 1.0.0
description:
  - "Imports boto3, botocore, the collections' and the project's AWS module_utils (which install the
    per-process caches of C(module_utils/aws_module.py) and C(module_utils/botocore_data.py)), then
    builds one client per service of O(services) and discards it, so the service models, endpoint
    rules and partitions botocore reads from its JSON files are kept for the AWS modules that run
    later in the same interpreter. By default the service of a run's first AWS call only (STS, the
    identity read): the others are read when a module first needs them."
  - "The project's strategy plugin (C(plugins/strategy/mitogen_linear.py)) runs it in the background
    when a play that sets C(aws_modules_warm_up) begins, in the interpreter that then runs the play's
    AWS modules, while the controller works through the tasks that need no AWS call (preflight's
    checks). It is not meant as a task of a playbook; nothing breaks if it is one."
  - "Sends no AWS request: the clients are built with placeholder keys, which are never used (no
    credential lookup, no instance metadata call). The models are read on a background thread of the
    interpreter, so the module returns once the imports are done."
  - Changes nothing; check mode does the same.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  services:
    description:
      - The botocore names of the services whose models to read, in the order the run first needs them.
      - "Reading every service of the platform up front was measured and dropped: about 3 CPU-seconds
        beside preflight's checks for no faster run, and wasted when preflight stops the run."
    type: list
    elements: str
    default: [sts]
"""

EXAMPLES = r"""
- name: Import boto3 and read the AWS service models before the first AWS task needs them
  aws_interpreter_warm_up:
    services: [sts, ec2]
"""

RETURN = r"""
services:
  description: The services whose models are being read, on a background thread.
  returned: always
  type: list
  elements: str
  sample: [sts, ec2]
"""

import os
import threading

from ansible.module_utils.basic import AnsibleModule

try:
    # Installs the process-wide caches the later AWS modules use (models, sessions, clients).
    import ansible.module_utils.aws_module  # noqa: F401  pylint: disable=unused-import
    import boto3

    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False

SERVICES = ["sts"]  # the identity read, every run's first AWS call
# Never sent: a client built with keys given does not look credentials up, and is discarded unused.
PLACEHOLDER_KEYS = {"aws_access_key_id": "warm-up", "aws_secret_access_key": "warm-up"}


def read_models(session, services: list[str], region: str) -> None:
    """Build and drop a client per service: botocore reads (and botocore_data keeps) its model."""
    for service in services:
        try:
            session.client(service, region_name=region, **PLACEHOLDER_KEYS)
        except Exception:  # pylint: disable=broad-exception-caught
            continue  # an unknown name or an odd region: the task that needs it reads it itself


def main() -> None:
    module = AnsibleModule(
        argument_spec={"services": {"type": "list", "elements": "str", "default": SERVICES}},
        supports_check_mode=True,
    )
    if not HAS_BOTO3:
        module.exit_json(changed=False, services=[])
    services = module.params["services"]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session()
    threading.Thread(target=read_models, args=(session, services, region), daemon=True).start()
    module.exit_json(changed=False, services=services)


if __name__ == "__main__":
    main()
