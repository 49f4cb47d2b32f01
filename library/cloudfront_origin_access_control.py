#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudfront_origin_access_control
short_description: Create, update and delete a CloudFront origin access control
version_added: 1.0.0
description:
  - Manages a CloudFront Origin Access Control (OAC), the way a CloudFront distribution signs its
    requests to a private origin such as an S3 bucket.
  - The OAC is identified by its O(name), which AWS keeps unique in an account.
  - A parameter the task does not set leaves that attribute alone on an existing OAC.
  - The OAC is read from ListOriginAccessControls, whose summaries hold its whole configuration; its
    version (ETag) is asked for only before an update or a delete, so an OAC that matches costs one
    request.
  - No module of amazon.aws or community.aws creates an OAC (they manage the older origin access identities).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  name:
    description:
      - The name of the origin access control; it identifies the OAC.
    type: str
    required: true
  description:
    description:
      - A description of the origin access control.
      - When creating and not set, the description is empty.
    type: str
  origin_type:
    description:
      - The type of origin this OAC is for.
    type: str
    choices: [s3, mediastore, mediapackagev2, lambda]
    default: s3
  signing_behavior:
    description:
      - Which requests CloudFront signs. V(always) signs every request (what a private S3 bucket needs).
    type: str
    choices: [always, never, no-override]
    default: always
  signing_protocol:
    description:
      - How CloudFront signs (authenticates) its requests to the origin.
    type: str
    choices: [sigv4]
    default: sigv4
  state:
    description:
      - V(present) creates or updates the OAC, V(absent) deletes it.
      - AWS refuses to delete an OAC that a distribution still uses.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the static site's origin access control
  cloudfront_origin_access_control:
    name: mensetsu-dev-static
    description: mensetsu-dev static site bucket
  register: static_oac

- name: Delete the origin access control
  cloudfront_origin_access_control:
    name: mensetsu-dev-static
    state: absent
"""

RETURN = r"""
id:
  description: The OAC's id (what a distribution's origin refers to as OriginAccessControlId).
  returned: when the OAC exists (or would be created in check mode, then empty)
  type: str
  sample: E2QWRUHAPOMQZL
etag:
  description: The OAC's version after the write (what the next update or delete must match).
  returned: when the module created, updated or deleted the OAC
  type: str
  sample: E2QWRUHAPOMQZL
origin_access_control_config:
  description: The OAC's configuration.
  returned: when state is present
  type: dict
  contains:
    name:
      description: The OAC's name.
      type: str
      sample: mensetsu-dev-static
    description:
      description: The OAC's description.
      type: str
      sample: mensetsu-dev static site bucket
    origin_access_control_origin_type:
      description: The type of origin.
      type: str
      sample: s3
    signing_behavior:
      description: Which requests CloudFront signs.
      type: str
      sample: always
    signing_protocol:
      description: The signing protocol.
      type: str
      sample: sigv4
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.cloudfront_resources import find_origin_access_controls
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

CONFIG_KEYS = ("Name", "Description", "OriginAccessControlOriginType", "SigningBehavior", "SigningProtocol")


def desired_config(module: AWSModule, current: dict[str, Any] | None) -> dict[str, Any]:
    """The configuration the task asks for; an unset description keeps the current one."""
    params = module.params
    description = params["description"]
    if description is None:
        description = (current or {}).get("Description", "")
    return {
        "Name": params["name"],
        "Description": description,
        "OriginAccessControlOriginType": params["origin_type"],
        "SigningBehavior": params["signing_behavior"],
        "SigningProtocol": params["signing_protocol"],
    }


def comparable(config: dict[str, Any] | None) -> dict[str, Any]:
    return {key: (config or {}).get(key, "" if key == "Description" else None) for key in CONFIG_KEYS}


def get_control(module: AWSModule, client: Any) -> tuple[str, dict[str, Any]] | None:
    """(id, config) of the OAC called `name`, or None: the list's summary holds every key of the
    configuration (CONFIG_KEYS), so no GetOriginAccessControl is needed to compare."""
    name = module.params["name"]
    try:
        found = find_origin_access_controls(client, name)
        if not found:
            return None
        if len(found) > 1:
            ids = ", ".join(item["Id"] for item in found)
            module.fail_json(msg=f"Several origin access controls are called {name!r} ({ids}); remove all but one")
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read origin access control {name!r}")
    return found[0]["Id"], {key: found[0][key] for key in CONFIG_KEYS if key in found[0]}


def current_etag(module: AWSModule, client: Any, control_id: str) -> str:
    """The OAC's version, which an update or a delete must match."""
    try:
        return client.get_origin_access_control(Id=control_id, aws_retry=True)["ETag"]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read origin access control {control_id}")
    return ""


def ensure_present(module: AWSModule, client: Any, existing: tuple | None) -> dict[str, Any]:
    current = existing[1] if existing else None
    desired = desired_config(module, current)
    before = comparable(current) if current else {}
    after = comparable(desired)
    if existing and before == after:
        return result(False, existing[0], None, current, before, after)
    if module.check_mode:
        return result(True, existing[0] if existing else "", None, desired, before, after)
    try:
        if existing:
            response = client.update_origin_access_control(
                Id=existing[0],
                IfMatch=current_etag(module, client, existing[0]),
                OriginAccessControlConfig=desired,
                aws_retry=True,
            )
        else:
            response = client.create_origin_access_control(OriginAccessControlConfig=desired, aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to {'update' if existing else 'create'} origin access control")
    control = response["OriginAccessControl"]
    return result(True, control["Id"], response["ETag"], control["OriginAccessControlConfig"], before, after)


def ensure_absent(module: AWSModule, client: Any, existing: tuple | None) -> dict[str, Any]:
    if not existing:
        return {"changed": False, "diff": {"before": {}, "after": {}}}
    control_id, config = existing
    diff = {"before": comparable(config), "after": {}}
    if module.check_mode:
        return {"changed": True, "id": control_id, "diff": diff}
    etag = current_etag(module, client, control_id)
    try:
        client.delete_origin_access_control(Id=control_id, IfMatch=etag, aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to delete origin access control {control_id}")
    return {"changed": True, "id": control_id, "etag": etag, "diff": diff}


def result(
    changed: bool, control_id: str, etag: str | None, config: dict[str, Any], before: dict, after: dict
) -> dict[str, Any]:
    written = {} if etag is None else {"etag": etag}
    return {
        "changed": changed,
        "id": control_id,
        **written,
        "origin_access_control_config": camel_dict_to_snake_dict(comparable(config)),
        "diff": {"before": before, "after": after},
    }


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        description=dict(type="str"),
        origin_type=dict(type="str", choices=["s3", "mediastore", "mediapackagev2", "lambda"], default="s3"),
        signing_behavior=dict(type="str", choices=["always", "never", "no-override"], default="always"),
        signing_protocol=dict(type="str", choices=["sigv4"], default="sigv4"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("cloudfront", retry_decorator=AWSRetry.jittered_backoff())
    existing = get_control(module, client)
    if module.params["state"] == "present":
        module.exit_json(**ensure_present(module, client, existing))
    module.exit_json(**ensure_absent(module, client, existing))


if __name__ == "__main__":
    main()
