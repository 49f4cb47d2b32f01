#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatch_dashboard
short_description: Create, update and delete a CloudWatch dashboard
version_added: 1.0.0
description:
  - Manages one CloudWatch dashboard identified by its O(name), with the body the task gives.
  - The body is compared as parsed JSON (C(GetDashboard)), not as text, so key order and white space never
    count as a change; C(PutDashboard) is sent only when the parsed bodies differ, and check mode sends nothing
    but the read.
  - Neither amazon.aws nor community.aws has a module for dashboards.
  - CloudWatch validates the body on C(PutDashboard) and may answer with messages (for example an unknown
    metric); they are returned as RV(validation_messages) and given as warnings.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The dashboard's name (letters, digits, C(-) and C(_), up to 255 characters).
    type: str
    required: true
  body:
    description:
      - The dashboard body as a dictionary (C(widgets), optional C(start), C(periodOverride)...), or a JSON string.
      - Required with O(state=present).
    type: raw
  state:
    description: V(present) puts the dashboard, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Put the operations dashboard
  cloudwatch_dashboard:
    name: mensetsu-dev
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            title: RDS CPU
            region: ap-northeast-1
            metrics:
              - [AWS/RDS, CPUUtilization, DBInstanceIdentifier, mensetsu-dev-db]

- name: Delete the dashboard
  cloudwatch_dashboard:
    name: mensetsu-dev
    state: absent
"""

RETURN = r"""
name:
  description: The dashboard's name.
  returned: always
  type: str
  sample: mensetsu-dev
arn:
  description: The dashboard's ARN (empty when it does not exist, or in check mode before creation).
  returned: always
  type: str
  sample: arn:aws:cloudwatch::123456789012:dashboard/mensetsu-dev
body:
  description: The body the dashboard holds after the task (empty after deletion).
  returned: always
  type: dict
validation_messages:
  description: What CloudWatch said about the body on C(PutDashboard) (the dashboard is saved all the same).
  returned: always
  type: list
  elements: dict
"""

import json
from typing import Any

try:
    import botocore
except ImportError:
    botocore = None  # AWSModule reports the missing dependency

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.task_warnings import warn
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

CLIENT_ERRORS = ()
if botocore:
    CLIENT_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


def read_dashboard(client, module: AWSModule, name: str) -> dict[str, Any] | None:
    """The dashboard as GetDashboard answers it (ARN, body parsed), or None when there is none."""
    try:
        answer = client.get_dashboard(aws_retry=True, DashboardName=name)
    except is_boto3_error_code("ResourceNotFound"):
        return None
    except CLIENT_ERRORS as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Could not read CloudWatch dashboard {name}")
    return {"arn": answer.get("DashboardArn", ""), "body": parse_body(module, answer.get("DashboardBody") or "{}")}


def parse_body(module: AWSModule, body: Any) -> dict[str, Any]:
    """A body given as a dictionary or as JSON text, as a dictionary."""
    if isinstance(body, dict):
        return json.loads(json.dumps(body))  # plain types: what PutDashboard would store
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError) as error:
        module.fail_json(msg=f"body is not a dictionary nor JSON text: {error}")
    if not isinstance(parsed, dict):
        module.fail_json(msg="body must be a JSON object (with a widgets list)")
    return parsed


def put_dashboard(client, module: AWSModule, name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        answer = client.put_dashboard(
            aws_retry=True, DashboardName=name, DashboardBody=json.dumps(body, sort_keys=True, separators=(",", ":"))
        )
    except CLIENT_ERRORS as error:
        module.fail_json_aws(error, msg=f"Could not put CloudWatch dashboard {name}")
    return [camel_dict_to_snake_dict(message) for message in answer.get("DashboardValidationMessages", [])]


def ensure_present(client, module: AWSModule) -> None:
    name = module.params["name"]
    if module.params.get("body") is None:
        module.fail_json(msg="body is required with state=present")
    wanted = parse_body(module, module.params["body"])
    current = read_dashboard(client, module, name)
    changed = current is None or current["body"] != wanted
    messages: list[dict[str, Any]] = []
    arn = (current or {}).get("arn", "")
    if changed and not module.check_mode:
        messages = put_dashboard(client, module, name, wanted)
        for message in messages:
            warn(module, f"CloudWatch on dashboard {name}: {message.get('message')} ({message.get('data_path')})")
        if not arn:
            arn = (read_dashboard(client, module, name) or {}).get("arn", "")
    module.exit_json(
        changed=changed,
        name=name,
        arn=arn,
        body=wanted,
        validation_messages=messages,
        diff={"before": (current or {}).get("body", {}), "after": wanted},
    )


def ensure_absent(client, module: AWSModule) -> None:
    name = module.params["name"]
    current = read_dashboard(client, module, name)
    if current is not None and not module.check_mode:
        try:
            client.delete_dashboards(aws_retry=True, DashboardNames=[name])
        except is_boto3_error_code("ResourceNotFound"):
            pass  # gone in between: what was asked
        except CLIENT_ERRORS as error:  # pylint: disable=duplicate-except
            module.fail_json_aws(error, msg=f"Could not delete CloudWatch dashboard {name}")
    module.exit_json(
        changed=current is not None,
        name=name,
        arn="",
        body={},
        validation_messages=[],
        diff={"before": (current or {}).get("body", {}), "after": {}},
    )


def main() -> None:
    argument_spec = {
        "name": {"type": "str", "required": True},
        "body": {"type": "raw"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff(retries=10))
    if module.params["state"] == "present":
        ensure_present(client, module)
    else:
        ensure_absent(client, module)


if __name__ == "__main__":
    main()
