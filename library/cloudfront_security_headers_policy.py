#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudfront_security_headers_policy
short_description: A CloudFront response headers policy that adds the security headers
version_added: 1.0.0
description:
  - Creates, updates and deletes a custom CloudFront response headers policy, found by its O(name),
    that sets the security headers on every response of the behaviours that reference it
    (C(Strict-Transport-Security), C(Content-Security-Policy), C(X-Content-Type-Options),
    C(X-Frame-Options), C(Referrer-Policy)), each overriding what the origin sends (O(override)).
  - The policy's whole configuration is compared with what C(ListResponseHeadersPolicies) returns
    (one request when nothing changed); a difference, including a header added or removed out of
    band, is sent with C(UpdateResponseHeadersPolicy) and the policy's ETag (C(IfMatch)).
  - The policy holds only the security headers; CORS, server timing, custom and removed headers are
    not set (an update removes them).
  - Check mode reads and reports, and writes nothing; the diff shows the configuration before and after.
  - O(state=absent) deletes the policy; CloudFront refuses while a behaviour references it
    (C(ResponseHeadersPolicyInUse)); detach it from the distribution first.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  state:
    description: V(present) creates or updates the policy, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The policy's name, unique among the account's response headers policies.
    type: str
    required: true
  comment:
    description: The policy's comment.
    type: str
    default: ""
  override:
    description: The headers replace those the origin sends.
    type: bool
    default: true
  hsts_max_age:
    description: C(Strict-Transport-Security) max-age in seconds (a year or more for HSTS preload lists).
    type: int
    default: 31536000
  hsts_include_subdomains:
    description: C(Strict-Transport-Security) includeSubDomains.
    type: bool
    default: true
  hsts_preload:
    description: C(Strict-Transport-Security) preload.
    type: bool
    default: false
  content_security_policy:
    description: The C(Content-Security-Policy) header's value; V("") sends none.
    type: str
    default: ""
  content_type_options:
    description: Send C(X-Content-Type-Options) nosniff.
    type: bool
    default: true
  frame_option:
    description: C(X-Frame-Options).
    type: str
    choices: [DENY, SAMEORIGIN]
    default: DENY
  referrer_policy:
    description: C(Referrer-Policy).
    type: str
    choices:
      - no-referrer
      - no-referrer-when-downgrade
      - origin
      - origin-when-cross-origin
      - same-origin
      - strict-origin
      - strict-origin-when-cross-origin
      - unsafe-url
    default: strict-origin-when-cross-origin
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Security headers on every response of the site
  cloudfront_security_headers_policy:
    name: mensetsu-prod-security-headers
    content_security_policy: "default-src 'self'; object-src 'none'; frame-ancestors 'none'"
    hsts_preload: true
  register: headers_policy

- name: Delete the policy (after the distribution no longer references it)
  cloudfront_security_headers_policy:
    name: mensetsu-prod-security-headers
    state: absent
"""

RETURN = r"""
id:
  description: The policy's id (empty when check mode would create it); the behaviours' C(ResponseHeadersPolicyId).
  returned: when the policy exists or check mode would create it
  type: str
  sample: 67f7725c-6f97-4210-82d7-5512b31e9d03
changed_fields:
  description: The parts of the configuration that differed.
  returned: always
  type: list
  elements: str
  sample: [SecurityHeadersConfig]
"""

import copy
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

MANAGED_PARTS = (
    "Comment",
    "SecurityHeadersConfig",
    "CorsConfig",
    "ServerTimingHeadersConfig",
    "CustomHeadersConfig",
    "RemoveHeadersConfig",
)


def desired_config(params: dict[str, Any]) -> dict[str, Any]:
    override = params["override"]
    headers: dict[str, Any] = {
        "StrictTransportSecurity": {
            "Override": override,
            "IncludeSubdomains": params["hsts_include_subdomains"],
            "Preload": params["hsts_preload"],
            "AccessControlMaxAgeSec": params["hsts_max_age"],
        },
        "FrameOptions": {"Override": override, "FrameOption": params["frame_option"]},
        "ReferrerPolicy": {"Override": override, "ReferrerPolicy": params["referrer_policy"]},
    }
    if params["content_type_options"]:
        headers["ContentTypeOptions"] = {"Override": override}
    if params["content_security_policy"]:
        headers["ContentSecurityPolicy"] = {
            "Override": override,
            "ContentSecurityPolicy": params["content_security_policy"],
        }
    return {"Name": params["name"], "Comment": params["comment"], "SecurityHeadersConfig": headers}


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """The managed parts, with what AWS leaves out or spells as an empty list made equal to absent."""
    parts = {}
    for key in MANAGED_PARTS:
        value = config.get(key)
        if value in (None, "", {}) or (isinstance(value, dict) and value.get("Quantity") == 0):
            continue
        parts[key] = value
    return parts


class SecurityHeadersPolicy:
    def __init__(self, module: Any, client: Any) -> None:
        self.module = module
        self.params = module.params
        self.client = client

    def find(self) -> dict[str, Any] | None:
        """The custom policy with this name, from the list (it carries each policy's configuration)."""
        marker = None
        while True:
            kwargs = {"Type": "custom", "aws_retry": True}
            if marker:
                kwargs["Marker"] = marker
            try:
                page = self.client.list_response_headers_policies(**kwargs)["ResponseHeadersPolicyList"]
            except AWS_ERRORS as e:
                self.module.fail_json_aws(e, msg="Failed to list the response headers policies")
            for summary in page.get("Items") or []:
                policy = summary["ResponseHeadersPolicy"]
                if policy["ResponseHeadersPolicyConfig"]["Name"] == self.params["name"]:
                    return policy
            marker = page.get("NextMarker")
            if not marker:
                return None

    def etag(self, policy_id: str) -> str:
        try:
            return self.client.get_response_headers_policy(Id=policy_id, aws_retry=True)["ETag"]
        except AWS_ERRORS as e:
            self.module.fail_json_aws(e, msg=f"Failed to read response headers policy {policy_id}")
        return ""

    def ensure_present(self) -> dict[str, Any]:
        desired = desired_config(self.params)
        found = self.find()
        if found is None:
            result = {
                "changed": True,
                "changed_fields": sorted(comparable(desired)),
                "id": "",
                "diff": {"before": {}, "after": copy.deepcopy(desired)},
            }
            if self.module.check_mode:
                return result
            try:
                created = self.client.create_response_headers_policy(
                    ResponseHeadersPolicyConfig=desired, aws_retry=True
                )
            except AWS_ERRORS as e:
                self.module.fail_json_aws(e, msg=f"Failed to create response headers policy {self.params['name']}")
            return {**result, "id": created["ResponseHeadersPolicy"]["Id"]}
        current = found["ResponseHeadersPolicyConfig"]
        have, want = comparable(current), comparable(desired)
        changed_fields = sorted(key for key in set(have) | set(want) if have.get(key) != want.get(key))
        result = {
            "changed": bool(changed_fields),
            "changed_fields": changed_fields,
            "id": found["Id"],
            "diff": {
                "before": {key: have.get(key) for key in changed_fields},
                "after": {key: want.get(key) for key in changed_fields},
            },
        }
        if changed_fields and not self.module.check_mode:
            try:
                self.client.update_response_headers_policy(
                    Id=found["Id"],
                    IfMatch=self.etag(found["Id"]),
                    ResponseHeadersPolicyConfig=desired,
                    aws_retry=True,
                )
            except AWS_ERRORS as e:
                self.module.fail_json_aws(e, msg=f"Failed to update response headers policy {found['Id']}")
        return result

    def ensure_absent(self) -> dict[str, Any]:
        found = self.find()
        if found is None:
            return {"changed": False, "changed_fields": [], "diff": {"before": {}, "after": {}}}
        result = {
            "changed": True,
            "changed_fields": [],
            "id": found["Id"],
            "diff": {"before": comparable(found["ResponseHeadersPolicyConfig"]), "after": {}},
        }
        if self.module.check_mode:
            return result
        try:
            self.client.delete_response_headers_policy(Id=found["Id"], IfMatch=self.etag(found["Id"]), aws_retry=True)
        except AWS_ERRORS as e:
            self.module.fail_json_aws(e, msg=f"Failed to delete response headers policy {found['Id']}")
        return result


def main() -> None:
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        name=dict(type="str", required=True),
        comment=dict(type="str", default=""),
        override=dict(type="bool", default=True),
        hsts_max_age=dict(type="int", default=31536000),
        hsts_include_subdomains=dict(type="bool", default=True),
        hsts_preload=dict(type="bool", default=False),
        content_security_policy=dict(type="str", default=""),
        content_type_options=dict(type="bool", default=True),
        frame_option=dict(type="str", choices=["DENY", "SAMEORIGIN"], default="DENY"),
        referrer_policy=dict(
            type="str",
            choices=[
                "no-referrer",
                "no-referrer-when-downgrade",
                "origin",
                "origin-when-cross-origin",
                "same-origin",
                "strict-origin",
                "strict-origin-when-cross-origin",
                "unsafe-url",
            ],
            default="strict-origin-when-cross-origin",
        ),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["hsts_max_age"] < 0:
        module.fail_json(msg=f"hsts_max_age must be 0 or more, not {module.params['hsts_max_age']}")
    client = module.client("cloudfront", retry_decorator=AWSRetry.jittered_backoff())
    policy = SecurityHeadersPolicy(module, client)
    module.exit_json(**(policy.ensure_present() if module.params["state"] == "present" else policy.ensure_absent()))


if __name__ == "__main__":
    main()
