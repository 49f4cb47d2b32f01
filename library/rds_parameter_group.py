#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_parameter_group
short_description: Create and update an RDS DB parameter group with the parameters it sets
version_added: 1.0.0
description:
  - Manages an RDS DB parameter group identified by its O(name), and the parameters the task sets in it
    (for example C(rds.force_ssl=1)). Parameters the task does not name keep the family's defaults.
  - The parameters are compared with the group's user-set parameters only (C(DescribeDBParameters) with
    C(Source=user)), one request, instead of every parameter of the family.
  - M(amazon.aws.rds_instance_param_group) reads every parameter's C(DataType) to convert values; the moto
    emulator returns parameters without it and the module fails there (KeyError). This module compares the
    values as the strings the API sends, which works on both.
  - AWS applies a dynamic parameter at once (O(apply_method=immediate)); a static one, and a new group on an
    existing instance, at the instance's next reboot.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The parameter group's name (lowercase letters, digits and hyphens).
    type: str
    required: true
  family:
    description: The parameter group family, for example C(postgres16). Used when creating; fixed afterwards.
    type: str
  description:
    description: The group's description. Used when creating; fixed afterwards. Defaults to the name.
    type: str
  parameters:
    description: Parameter names and the values the group must hold.
    type: dict
    default: {}
  apply_method:
    description: When AWS applies a changed parameter (V(pending-reboot) for a static parameter).
    type: str
    choices: [immediate, pending-reboot]
    default: immediate
  state:
    description: V(present) creates or updates the group, V(absent) deletes it (AWS refuses while an instance uses it).
    type: str
    choices: [present, absent]
    default: present
  account_id:
    description:
      - The AWS account the group is in. Given, the group's tags are read beside the group and its parameters (its
        ARN is known beforehand), so a run that changes nothing makes one round trip to RDS, not three.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Refuse connections without TLS
  rds_parameter_group:
    name: mensetsu-dev-db
    family: postgres16
    description: mensetsu-dev PostgreSQL, TLS only
    parameters:
      rds.force_ssl: "1"
    tags:
      Project: mensetsu
"""

RETURN = r"""
name:
  description: The group's name.
  returned: when the group exists (or would in check mode)
  type: str
  sample: mensetsu-dev-db
arn:
  description: The group's ARN (empty in check mode before creation).
  returned: when the group exists
  type: str
parameters:
  description: The parameters the task manages, with the values the group holds after the task.
  returned: always
  type: dict
  sample: {"rds.force_ssl": "1"}
"""

from typing import Any

try:
    import botocore
except ImportError:
    botocore = None  # AWSModule reports the missing dependency

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.parallel_reads import arn_to_be, early_read, read_in_parallel
from ansible.module_utils.tag_sync import apply_tag_changes, plan_tag_changes
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)

CLIENT_ERRORS = ()
if botocore:
    CLIENT_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


def describe_group(client, module: AWSModule, name: str) -> dict[str, Any] | None:
    try:
        groups = client.describe_db_parameter_groups(aws_retry=True, DBParameterGroupName=name)["DBParameterGroups"]
        return groups[0] if groups else None  # AWS answers DBParameterGroupNotFound, the moto emulator []
    except is_boto3_error_code("DBParameterGroupNotFound"):
        return None
    except CLIENT_ERRORS as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Could not describe DB parameter group {name}")
    return None


def user_parameters(client, module: AWSModule, name: str) -> dict[str, str] | None:
    """The parameters set in the group (not the family's defaults), name -> value as the API sends it;
    None when there is no such group."""
    try:
        pages = client.get_paginator("describe_db_parameters").paginate(DBParameterGroupName=name, Source="user")
        return {
            item["ParameterName"]: str(item.get("ParameterValue", ""))
            for page in pages
            for item in page.get("Parameters", [])
        }
    except is_boto3_error_code("DBParameterGroupNotFound"):
        return None
    except CLIENT_ERRORS as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Could not read the parameters of DB parameter group {name}")
    return {}


def wanted_parameters(module: AWSModule) -> dict[str, str]:
    return {str(key): str(value) for key, value in (module.params["parameters"] or {}).items()}


def parameter_changes(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in wanted.items() if current.get(key) != value}


def create_group(client, module: AWSModule) -> dict[str, Any]:
    params = module.params
    if not params.get("family"):
        module.fail_json(msg="family is required to create a DB parameter group")
    request = {
        "DBParameterGroupName": params["name"],
        "DBParameterGroupFamily": params["family"],
        "Description": params.get("description") or params["name"],
    }
    if params.get("tags"):
        request["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    try:
        return client.create_db_parameter_group(aws_retry=True, **request)["DBParameterGroup"]
    except CLIENT_ERRORS as error:
        module.fail_json_aws(error, msg=f"Could not create DB parameter group {params['name']}")
    return {}


def modify_parameters(client, module: AWSModule, changes: dict[str, str]) -> None:
    parameters = [
        {"ParameterName": key, "ParameterValue": value, "ApplyMethod": module.params["apply_method"]}
        for key, value in sorted(changes.items())
    ]
    try:
        for start in range(0, len(parameters), 20):  # AWS takes up to 20 parameters per request
            client.modify_db_parameter_group(
                aws_retry=True, DBParameterGroupName=module.params["name"], Parameters=parameters[start : start + 20]
            )
    except CLIENT_ERRORS as error:
        module.fail_json_aws(error, msg=f"Could not set the parameters of DB parameter group {module.params['name']}")


def tags_by_arn(client, arn: str) -> dict[str, str]:
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(aws_retry=True, ResourceName=arn)["TagList"])


def group_tags(client, module: AWSModule, arn: str) -> dict[str, str]:
    """The tags of the group (which exists) by its own ARN."""
    try:
        return tags_by_arn(client, arn)
    except CLIENT_ERRORS as error:
        module.fail_json_aws(error, msg=f"Could not list the tags of {arn}")
    return {}


def read_group(client, module: AWSModule, name: str) -> tuple[dict[str, Any] | None, dict[str, str], dict | None]:
    """The group, its user parameters and (with O(account_id)) its tags, read side by side: the
    parameters are asked by the group's name and the tags by the ARN the group has, so none waits for
    the group's own answer. Tags None: not read (no account), or a group made between the reads."""
    reads = {
        "group": lambda: describe_group(client, module, name),
        "parameters": lambda: user_parameters(client, module, name),
    }
    if module.params["account_id"]:
        # AWS documents no error code of ListTagsForResource for a parameter group that does not
        # exist: any error of this read only means "not read", and the group's answer decides.
        arn = arn_to_be(client, "rds", module.params["account_id"], f"pg:{name}")
        reads["tags"] = early_read(lambda: tags_by_arn(client, arn))
    found = read_in_parallel(module, reads)
    group = found["group"]
    if group is not None and found["parameters"] is None:  # made between the reads
        found["parameters"] = user_parameters(client, module, name)
    return group, found["parameters"] or {}, found.get("tags")


def sync_tags(client, module: AWSModule, arn: str, current: dict[str, str] | None) -> bool:
    if current is None:
        current = group_tags(client, module, arn)
    changes = plan_tag_changes(current, module.params.get("tags"), module.params["purge_tags"])

    def add(to_set: dict[str, str]) -> None:
        client.add_tags_to_resource(aws_retry=True, ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(to_set))

    def remove(keys: list[str]) -> None:
        client.remove_tags_from_resource(aws_retry=True, ResourceName=arn, TagKeys=keys)

    try:
        return apply_tag_changes(changes, module.check_mode, add, remove)
    except CLIENT_ERRORS as error:
        module.fail_json_aws(error, msg=f"Could not update the tags of {arn}")
    return False


def ensure_present(client, module: AWSModule) -> None:
    name = module.params["name"]
    wanted = wanted_parameters(module)
    group, current, tags = read_group(client, module, name)
    if group is None:
        if not module.check_mode:
            group = create_group(client, module)
            if wanted:
                modify_parameters(client, module, wanted)
        module.exit_json(
            changed=True,
            name=name,
            arn=(group or {}).get("DBParameterGroupArn", ""),
            parameters=wanted,
            diff={"before": {}, "after": {"name": name, "family": module.params.get("family"), "parameters": wanted}},
        )
    changes = parameter_changes(current, wanted)
    if changes and not module.check_mode:
        modify_parameters(client, module, changes)
    tags_changed = sync_tags(client, module, group["DBParameterGroupArn"], tags)
    before = {key: current.get(key) for key in wanted}
    module.exit_json(
        changed=bool(changes) or tags_changed,
        name=name,
        arn=group["DBParameterGroupArn"],
        parameters=wanted if not module.check_mode else {**before, **changes},
        diff={"before": {"name": name, "parameters": before}, "after": {"name": name, "parameters": wanted}},
    )


def ensure_absent(client, module: AWSModule) -> None:
    name = module.params["name"]
    group = describe_group(client, module, name)
    if group is not None and not module.check_mode:
        try:
            client.delete_db_parameter_group(aws_retry=True, DBParameterGroupName=name)
        except CLIENT_ERRORS as error:
            module.fail_json_aws(error, msg=f"Could not delete DB parameter group {name}")
    module.exit_json(
        changed=group is not None, parameters={}, diff={"before": {"name": name} if group else {}, "after": {}}
    )


def main() -> None:
    argument_spec = {
        "name": {"type": "str", "required": True},
        "family": {"type": "str"},
        "description": {"type": "str"},
        "parameters": {"type": "dict", "default": {}},
        "apply_method": {"type": "str", "choices": ["immediate", "pending-reboot"], "default": "immediate"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
        "account_id": {"type": "str"},
    }
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("rds", retry_decorator=AWSRetry.jittered_backoff())
    if module.params["state"] == "present":
        ensure_present(client, module)
    else:
        ensure_absent(client, module)


if __name__ == "__main__":
    main()
