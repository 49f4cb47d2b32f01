#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtrail_trail
short_description: Create, update and delete a CloudTrail trail, its logging and its tags, reading it in one round trip
version_added: 1.0.0
description:
  - Manages one trail of the module's region by its O(name) (a multi-region trail is managed from its home
    region); only the settings the task sets are compared and written, the others are left alone.
  - The trail (DescribeTrails), whether it logs (GetTrailStatus) and, given O(account_id), its tags
    (ListTags by the ARN the trail has) are read side by side, so a run that changes nothing costs one round
    trip, where C(amazon.aws.cloudtrail) sends its three reads one after another.
  - One comparison decides check mode, the diff and the writes; check mode sends no write.
  - AWS refuses a multi-region trail that leaves out the global service events; the module refuses that
    combination before any call.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description: The trail's name.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the trail, V(absent) deletes it (the log files it wrote stay in the bucket).
    type: str
    choices: [present, absent]
    default: present
  s3_bucket_name:
    description: The bucket the log files go to; required to create the trail.
    type: str
  s3_key_prefix:
    description: The key prefix of the log files in the bucket; not set leaves it alone (V("") removes it).
    type: str
  is_multi_region_trail:
    description: Whether the trail records every region; not set leaves it alone.
    type: bool
  include_global_service_events:
    description: Whether the trail records global services' events (IAM, STS...); not set leaves it alone.
    type: bool
  enable_log_file_validation:
    description: Whether CloudTrail writes digest files to validate the log files with; not set leaves it alone.
    type: bool
  enable_logging:
    description: Whether the trail logs (StartLogging, StopLogging).
    type: bool
    default: true
  tags:
    description: The trail's tags; not set leaves the tags alone.
    type: dict
  purge_tags:
    description: Remove the tags O(tags) does not list.
    type: bool
    default: true
  account_id:
    description:
      - The account the trail is in. Given, the tags are read beside the trail by the ARN it has; without it,
        after the trail (one more round trip).
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Record the audit trail in the log bucket
  cloudtrail_trail:
    name: mensetsu-prod-trail
    s3_bucket_name: mensetsu-prod-logs-123456789012
    is_multi_region_trail: true
    include_global_service_events: true
    enable_log_file_validation: true
    enable_logging: true
    tags:
      Project: mensetsu
      Environment: prod
    account_id: "{{ aws_account_id }}"

- name: Delete it
  cloudtrail_trail:
    name: mensetsu-prod-trail
    state: absent
"""

RETURN = r"""
trail:
  description: The trail as it is after the run (as it would be, in check mode); {} when absent.
  returned: always
  type: dict
  contains:
    name: {description: The name., type: str}
    trail_arn: {description: The ARN (empty for one check mode would create)., type: str}
    home_region: {description: The region the trail was created in., type: str}
    s3_bucket_name: {description: The bucket., type: str}
    s3_key_prefix: {description: The key prefix (empty for none)., type: str}
    is_multi_region_trail: {description: Whether it records every region., type: bool}
    include_global_service_events: {description: Whether it records global services' events., type: bool}
    enable_log_file_validation: {description: Whether it writes digest files., type: bool}
    is_logging: {description: Whether it logs., type: bool}
    tags: {description: The tags., type: dict}
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import differences
from ansible.module_utils.parallel_reads import arn_to_be, aws_read, early_read, read_in_parallel
from ansible.module_utils.tag_sync import apply_tag_changes, plan_tag_changes
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

# The module's option -> the key of DescribeTrails' answer and of UpdateTrail/CreateTrail's request.
SETTINGS = {
    "s3_bucket_name": ("S3BucketName", "S3BucketName"),
    "s3_key_prefix": ("S3KeyPrefix", "S3KeyPrefix"),
    "is_multi_region_trail": ("IsMultiRegionTrail", "IsMultiRegionTrail"),
    "include_global_service_events": ("IncludeGlobalServiceEvents", "IncludeGlobalServiceEvents"),
    "enable_log_file_validation": ("LogFileValidationEnabled", "EnableLogFileValidation"),
}
NOT_FOUND = ["TrailNotFoundException", "ResourceNotFoundException", "CloudTrailARNInvalidException"]


def describe(client: Any, name: str) -> dict[str, Any] | None:
    """The trail whose home is the client's region, None when there is none."""
    trails = client.describe_trails(trailNameList=[name], includeShadowTrails=False, aws_retry=True)["trailList"]
    return next((trail for trail in trails if trail.get("Name") == name), None)


def trail_logging(client: Any, name: str) -> bool | None:
    try:
        return bool(client.get_trail_status(Name=name, aws_retry=True).get("IsLogging"))
    except is_boto3_error_code(NOT_FOUND):
        return None


def trail_tags(client: Any, arn: str) -> dict[str, str] | None:
    try:
        found = client.list_tags(ResourceIdList=[arn], aws_retry=True).get("ResourceTagList") or []
    except is_boto3_error_code(NOT_FOUND):
        return None
    tags = next((entry.get("TagsList") or [] for entry in found if entry.get("ResourceId") == arn), [])
    return {tag["Key"]: tag.get("Value", "") for tag in tags}


def read_trail(module: Any, client: Any, name: str) -> tuple[dict[str, Any] | None, bool, dict[str, str]]:
    """(trail, is logging, tags): the three reads side by side when the ARN is known beforehand."""
    account_id = module.params["account_id"]
    reads = {
        "trail": aws_read(module, f"trail {name}", lambda: describe(client, name)),
        "logging": early_read(lambda: trail_logging(client, name)),
    }
    if account_id:
        arn = arn_to_be(client, "cloudtrail", account_id, f"trail/{name}")
        reads["tags"] = early_read(lambda: trail_tags(client, arn))
    read = read_in_parallel(module, reads)
    trail = read["trail"]
    if trail is None:
        return None, False, {}
    arn = trail["TrailARN"]
    is_logging, tags = read["logging"], read.get("tags")
    if is_logging is None:  # not read, or read before the trail existed: ask again, failing on an error
        is_logging = aws_read(module, f"the status of trail {name}", lambda: trail_logging(client, name))()
    if tags is None:
        tags = aws_read(module, f"the tags of trail {arn}", lambda: trail_tags(client, arn))()
    return trail, bool(is_logging), tags or {}


def settings_of(trail: dict[str, Any], is_logging: bool, tags: dict[str, str]) -> dict[str, Any]:
    actual = {option: trail.get(keys[0]) for option, keys in SETTINGS.items()}
    actual["s3_key_prefix"] = actual["s3_key_prefix"] or ""
    return dict(actual, is_logging=is_logging, tags=tags)


def declared_settings(params: dict[str, Any], tags_after: dict[str, str] | None) -> dict[str, Any]:
    declared = {option: params[option] for option in SETTINGS if params[option] is not None}
    declared["is_logging"] = params["enable_logging"]
    if tags_after is not None:
        declared["tags"] = tags_after
    return declared


def result_trail(trail: dict[str, Any] | None, settings: dict[str, Any], name: str, region: str) -> dict[str, Any]:
    trail = trail or {}
    return {
        "name": name,
        "trail_arn": trail.get("TrailARN", ""),
        "home_region": trail.get("HomeRegion", region),
        "s3_key_prefix": "",
        **{option: settings.get(option) for option in SETTINGS if option in settings},
        "is_logging": settings.get("is_logging", False),
        "tags": settings.get("tags", {}),
    }


def ensure_present(module: Any, client: Any) -> dict[str, Any]:
    params, name = module.params, module.params["name"]
    if params["is_multi_region_trail"] and params["include_global_service_events"] is False:
        module.fail_json(
            msg="is_multi_region_trail: a multi-region trail must include the global service events "
            "(include_global_service_events: true), which AWS requires"
        )
    trail, is_logging, current_tags = read_trail(module, client, name)
    # Left unset, the global events stay as the trail has them: a multi-region trail needs them on.
    global_events = params["include_global_service_events"]
    if global_events is None and trail is not None:
        global_events = trail.get("IncludeGlobalServiceEvents")
    if params["is_multi_region_trail"] and global_events is False:
        module.fail_json(
            msg=f"is_multi_region_trail: trail {name} records no global service events; a multi-region trail must "
            "(set include_global_service_events: true, which AWS requires)"
        )
    if trail is None and not params["s3_bucket_name"]:
        module.fail_json(msg=f"s3_bucket_name: required to create trail {name}")
    tag_changes = plan_tag_changes(current_tags, params["tags"], params["purge_tags"])
    declared = declared_settings(params, tag_changes.after if params["tags"] is not None else None)
    actual = settings_of(trail, is_logging, current_tags) if trail else None
    diff = differences(declared, actual)
    after = dict(actual or {}, **declared)
    if diff and not module.check_mode:
        try:
            if trail is None:
                request = {SETTINGS[option][1]: value for option, value in declared.items() if option in SETTINGS}
                tags = ansible_dict_to_boto3_tag_list(declared.get("tags", {}))
                trail = client.create_trail(Name=name, TagsList=tags, aws_retry=True, **request)
                trail.pop("ResponseMetadata", None)
                if declared["is_logging"]:
                    client.start_logging(Name=name, aws_retry=True)
            else:
                update_trail(module, client, trail, diff["after"], tag_changes)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to {'update' if actual else 'create'} trail {name}")
    return {
        "changed": bool(diff),
        "diff": diff or {"before": {}, "after": {}},
        "trail": result_trail(trail, after, name, client.meta.region_name),
    }


def update_trail(module: Any, client: Any, trail: dict[str, Any], changed: dict[str, Any], tag_changes: Any) -> None:
    """The writes by the trail's name (AWS takes the name or the ARN in the home region; moto 5.2.5's
    DeleteTrail only the name), the tags by its ARN."""
    name, arn = trail["Name"], trail["TrailARN"]
    request = {SETTINGS[option][1]: value for option, value in changed.items() if option in SETTINGS}
    if request:
        client.update_trail(Name=name, aws_retry=True, **request)
    if "is_logging" in changed:
        (client.start_logging if changed["is_logging"] else client.stop_logging)(Name=name, aws_retry=True)

    def add(to_set: dict[str, str]) -> None:
        client.add_tags(ResourceId=arn, TagsList=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True)

    def remove(keys: list[str]) -> None:
        client.remove_tags(ResourceId=arn, TagsList=[{"Key": key} for key in keys], aws_retry=True)

    apply_tag_changes(tag_changes, module.check_mode, add, remove)


def ensure_absent(module: Any, client: Any) -> dict[str, Any]:
    name = module.params["name"]
    trail, is_logging, tags = read_trail(module, client, name)
    if trail is None:
        return {"changed": False, "diff": {"before": {}, "after": {}}, "trail": {}}
    if not module.check_mode:
        try:
            client.delete_trail(Name=name, aws_retry=True)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to delete trail {name}")
    return {"changed": True, "diff": {"before": settings_of(trail, is_logging, tags), "after": {}}, "trail": {}}


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        s3_bucket_name=dict(type="str"),
        s3_key_prefix=dict(type="str", no_log=False),
        is_multi_region_trail=dict(type="bool"),
        include_global_service_events=dict(type="bool"),
        enable_log_file_validation=dict(type="bool"),
        enable_logging=dict(type="bool", default=True),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        account_id=dict(type="str"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("cloudtrail", retry_decorator=AWSRetry.jittered_backoff(retries=10))
    if module.params["state"] == "present":
        module.exit_json(**ensure_present(module, client))
    module.exit_json(**ensure_absent(module, client))


if __name__ == "__main__":
    main()
