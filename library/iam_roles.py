#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_roles
short_description: Keep IAM roles whole (trust, description, tags, policies, instance profile), reading them at once
version_added: 1.0.0
description:
  - For each declared role reads, in parallel threads on one client, C(GetRole) (trust policy,
    description and tags come with it), C(ListAttachedRolePolicies), C(ListRolePolicies),
    C(GetRolePolicy) for each declared inline policy and, with O(roles[].instance_profile),
    C(GetInstanceProfile); then writes only what differs.
  - It exists because M(amazon.aws.iam_role), M(amazon.aws.iam_policy) and
    M(amazon.aws.iam_instance_profile) take one piece of a role per call and, on every run, read
    the role and its policies again in each (the app hosts' role was 14 requests one after another
    on a no-op run), and because M(amazon.aws.iam_role) 10 prints two deprecation warnings on every
    run. It also keeps the instance profile holding its role, which M(amazon.aws.iam_role) never
    repairs after a run interrupted between creating the profile and adding the role to it.
  - "The role's trust policy (C(UpdateAssumeRolePolicy)), description (C(UpdateRole)), tags exactly
    (C(TagRole), C(UntagRole)), managed policies exactly, by ARN (C(AttachRolePolicy),
    C(DetachRolePolicy); no C(ListPolicies) paging), the declared inline policies (C(PutRolePolicy);
    an inline policy nobody declared is left in place and returned in RV(results[].extra_inline_policies)),
    and the instance profile of the role's name holding exactly this role (C(CreateInstanceProfile),
    C(AddRoleToInstanceProfile), C(RemoveRoleFromInstanceProfile))."
  - "IAM is eventually consistent: after it creates a role or an instance profile the module waits
    until IAM answers for it (the C(role_exists) and C(instance_profile_exists) waiters). EC2 may still
    refuse a new profile for some seconds (C(Invalid IAM Instance Profile)); M(amazon.aws.ec2_instance)
    retries that answer once after 10 s."
  - Policy documents are compared as policies (key order, a single value against a one-element list),
    as M(amazon.aws.iam_policy) compares them.
  - The comparison that decides C(changed) is the one the write path uses and the drift run reads
    (check mode). Check mode sends no write. Returns one entry per resource (role, inline policy,
    instance profile) in RV(results), each with its own C(changed) and C(diff).
  - With O(state=absent) removes each role as M(amazon.aws.iam_role) does with
    C(delete_instance_profile), the role taken out of every instance profile holding it, its managed
    policies detached, its inline policies deleted, the profile of its name deleted (with
    O(roles[].instance_profile)), then the role.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  roles:
    description: The roles.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: The role's name (and its instance profile's)., type: str, required: true}
      assume_role_policy:
        description: The trust policy (JSON text or a dict). Required with O(state=present).
        type: json
      description: {description: The role's description; not compared when not set., type: str}
      tags: {description: The role's tags exactly (others are removed)., type: dict, default: {}}
      managed_policies:
        description: The ARNs of the managed policies attached to the role, exactly (others are detached).
        type: list
        elements: str
        default: []
      inline_policies:
        description: The inline policies by name (JSON text or a dict each); others are left alone and reported.
        type: dict
        default: {}
      instance_profile:
        description: An instance profile of the role's name holds exactly this role.
        type: bool
        default: false
  state:
    description: Whether the roles exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the app hosts' role and its instance profile
  iam_roles:
    roles:
      - name: mensetsu-dev-app
        description: "mensetsu-dev-app: app hosts"
        assume_role_policy: "{{ lookup('ansible.builtin.template', 'ec2-trust.json.j2') }}"
        managed_policies: [arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore]
        inline_policies:
          app-access: "{{ lookup('ansible.builtin.template', 'app-policy.json.j2') }}"
        instance_profile: true
        tags: {Project: mensetsu, Environment: dev}

- name: Delete it
  iam_roles:
    roles: [{name: mensetsu-dev-app, instance_profile: true}]
    state: absent
"""

RETURN = r"""
results:
  description: One entry per resource, in the order declared (each role, its inline policies, its profile).
  returned: always
  type: list
  elements: dict
  contains:
    label: {description: "The resource (the drift report's C(Managed by) names the result by it).", type: str}
    drift_kind: {description: "V(iam_role), V(iam_policy) or V(iam_instance_profile): the kind of resource.", type: str}
    role_name: {description: The role's name., type: str}
    policy_name: {description: The inline policy's name (V(iam_policy) entries)., type: str}
    iam_role:
      description: The role (V(iam_role) entries; no ARN for one check mode would create).
      type: dict
      contains:
        role_name: {description: The role's name., type: str}
        arn: {description: The role's ARN., type: str}
    iam_instance_profile:
      description: The instance profile (V(iam_instance_profile) entries).
      type: dict
      contains:
        instance_profile_name: {description: The profile's name., type: str}
        arn: {description: The profile's ARN., type: str}
    extra_inline_policies:
      description: Inline policies of the role that no task declares (V(iam_role) entries); left in place.
      type: list
      elements: str
    action: {description: "V(created), V(updated), V(deleted) or V(unchanged).", type: str}
    changed: {description: "Whether the resource was (or, in check mode, would be) written.", type: bool}
    diff: {description: "The settings that differ: before (actual) and after (declared).", type: dict}
  sample:
    - {label: mensetsu-dev-app, drift_kind: iam_role, role_name: mensetsu-dev-app, action: updated, changed: true,
       iam_role: {role_name: mensetsu-dev-app, arn: "arn:aws:iam::123456789012:role/mensetsu-dev-app"},
       extra_inline_policies: [],
       diff: {before: {managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess"]},
              after: {managed_policies: []}}}
"""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import differences, results_diff
from ansible.module_utils.tag_sync import apply_tag_changes, plan_tag_changes
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

MAX_THREADS = 8
# IAM answers for a new role or profile within seconds (the waiters poll its read API).
WAIT = {"Delay": 2, "MaxAttempts": 30}
POLICY_KEYS = ("assume_role_policy", "policy")


class Missing(Exception):
    """IAM answered NoSuchEntity."""


def same(key: str, declared: Any, actual: Any) -> bool:
    """The comparison of one setting: policies as policies, managed policy ARNs as a set."""
    if key in POLICY_KEYS:
        return actual is not None and not compare_policies(actual, declared)
    if key == "managed_policies":
        return sorted(actual or []) == sorted(declared)
    return declared == actual


def document(value: Any) -> dict[str, Any]:
    """A policy given as JSON text (the option's type) or read from IAM (botocore decodes it)."""
    return json.loads(value) if isinstance(value, str) else value


# --- reading ---------------------------------------------------------------------------------------


def pages(client: Any, operation: str, key: str, **request: Any) -> list[Any]:
    return [item for page in client.get_paginator(operation).paginate(**request) for item in page.get(key, [])]


def absent_on_no_such_entity(read: Any) -> Any:
    """The answer of a read, or Missing when IAM says the entity does not exist."""
    try:
        return read()
    except is_boto3_error_code("NoSuchEntity") as e:
        raise Missing() from e


def reads(client: Any, spec: dict[str, Any], state: str) -> dict[str, Any]:
    """What to read of one role: key -> a function that reads it."""
    name = spec["name"]

    def inline_policy(policy: str) -> Any:
        return lambda: client.get_role_policy(RoleName=name, PolicyName=policy, aws_retry=True)["PolicyDocument"]

    jobs = {
        "role": lambda: client.get_role(RoleName=name, aws_retry=True)["Role"],
        "managed": lambda: [
            policy["PolicyArn"]
            for policy in pages(client, "list_attached_role_policies", "AttachedPolicies", RoleName=name)
        ],
        "inline_names": lambda: pages(client, "list_role_policies", "PolicyNames", RoleName=name),
    }
    if state == "present":
        jobs.update({f"inline:{policy}": inline_policy(policy) for policy in spec["inline_policies"]})
    else:
        jobs["profiles"] = lambda: pages(client, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=name)
    if spec["instance_profile"]:
        jobs["profile"] = lambda: client.get_instance_profile(InstanceProfileName=name, aws_retry=True)[
            "InstanceProfile"
        ]
    return jobs


def read_all(module: Any, client: Any, specs: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    """Every role's state, all reads in flight together: {key: answer, or None when missing}."""
    with ThreadPoolExecutor(max_workers=MAX_THREADS) as pool:
        futures = [
            {key: pool.submit(absent_on_no_such_entity, read) for key, read in reads(client, spec, state).items()}
            for spec in specs
        ]
        states = []
        for spec, jobs in zip(specs, futures, strict=True):
            found: dict[str, Any] = {}
            for key, future in jobs.items():
                try:
                    found[key] = future.result()
                except Missing:
                    found[key] = None
                except AWS_ERRORS as e:
                    module.fail_json_aws(e, msg=f"Failed to read role {spec['name']} ({key})")
            states.append(found)
    return states


# --- comparing -------------------------------------------------------------------------------------


def declared_role(spec: dict[str, Any]) -> dict[str, Any]:
    declared = {
        "assume_role_policy": document(spec["assume_role_policy"]),
        "tags": {str(k): str(v) for k, v in (spec["tags"] or {}).items()},
        "managed_policies": sorted(set(spec["managed_policies"])),
    }
    if spec["description"] is not None:
        declared["description"] = spec["description"]
    return declared


def actual_role(found: dict[str, Any]) -> dict[str, Any] | None:
    role = found["role"]
    if role is None:
        return None
    return {
        "assume_role_policy": role.get("AssumeRolePolicyDocument"),
        "tags": {t["Key"]: t["Value"] for t in role.get("Tags") or []},
        "managed_policies": sorted(found["managed"] or []),
        "description": role.get("Description", ""),
    }


def plan(spec: dict[str, Any], found: dict[str, Any]) -> list[dict[str, Any]]:
    """The role's entries (role, inline policies, profile), each with the diff that decides its writes."""
    name = spec["name"]
    role = found["role"]
    entry: dict[str, Any] = {
        "label": name,
        "drift_kind": "iam_role",
        "role_name": name,
        "iam_role": {"role_name": name, **({"arn": role["Arn"]} if role else {})},
        "diff": differences(declared_role(spec), actual_role(found), same),
        "extra_inline_policies": sorted(set(found["inline_names"] or []) - set(spec["inline_policies"])),
    }
    entries = [entry]
    for policy, text in spec["inline_policies"].items():
        actual = found[f"inline:{policy}"]
        entries.append(
            {
                "label": f"{name}/{policy}",
                "drift_kind": "iam_policy",
                "role_name": name,
                "policy_name": policy,
                "diff": differences({"policy": document(text)}, None if actual is None else {"policy": actual}, same),
            }
        )
    if spec["instance_profile"]:
        profile = found["profile"]
        actual_profile = None if profile is None else {"roles": sorted(r["RoleName"] for r in profile.get("Roles", []))}
        entries.append(
            {
                "label": f"instance profile {name}",
                "drift_kind": "iam_instance_profile",
                "role_name": name,
                "iam_instance_profile": {
                    "instance_profile_name": name,
                    **({"arn": profile["Arn"]} if profile else {}),
                },
                "diff": differences({"roles": [name]}, actual_profile),
            }
        )
    for item in entries:
        item["changed"] = bool(item["diff"])
        item["action"] = "unchanged" if not item["diff"] else "created" if not item["diff"]["before"] else "updated"
    return entries


# --- writing ---------------------------------------------------------------------------------------


def wait(client: Any, waiter: str, **request: Any) -> None:
    client.get_waiter(waiter).wait(WaiterConfig=WAIT, **request)


def write_role(client: Any, spec: dict[str, Any], found: dict[str, Any], diff: dict[str, Any]) -> str:
    """Create the role or write the settings its diff names; its ARN."""
    name, after, before = spec["name"], diff["after"], diff["before"]
    if found["role"] is None:
        request: dict[str, Any] = {
            "RoleName": name,
            "AssumeRolePolicyDocument": json.dumps(after["assume_role_policy"]),
        }
        if after.get("description"):
            request["Description"] = after["description"]
        if after["tags"]:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(after["tags"].items())]
        arn = client.create_role(aws_retry=True, **request)["Role"]["Arn"]
        wait(client, "role_exists", RoleName=name)
        before = {"managed_policies": []}
    else:
        arn = found["role"]["Arn"]
        if "assume_role_policy" in after:
            document_text = json.dumps(after["assume_role_policy"])
            client.update_assume_role_policy(aws_retry=True, RoleName=name, PolicyDocument=document_text)
        if "description" in after:
            client.update_role(aws_retry=True, RoleName=name, Description=after["description"])
        if "tags" in after:
            apply_tag_changes(
                plan_tag_changes(before["tags"], after["tags"], purge_tags=True),
                check_mode=False,
                add_tags=lambda tags: client.tag_role(
                    aws_retry=True, RoleName=name, Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())]
                ),
                remove_tags=lambda keys: client.untag_role(aws_retry=True, RoleName=name, TagKeys=keys),
            )
    if "managed_policies" in after:
        have, want = set(before.get("managed_policies") or []), set(after["managed_policies"])
        for arn_to_detach in sorted(have - want):
            client.detach_role_policy(aws_retry=True, RoleName=name, PolicyArn=arn_to_detach)
        for arn_to_attach in sorted(want - have):
            client.attach_role_policy(aws_retry=True, RoleName=name, PolicyArn=arn_to_attach)
    return arn


def write_profile(client: Any, name: str, found: dict[str, Any]) -> str:
    """The profile of the role's name holding exactly the role; its ARN."""
    profile = found["profile"]
    if profile is None:
        profile = client.create_instance_profile(aws_retry=True, InstanceProfileName=name)["InstanceProfile"]
        wait(client, "instance_profile_exists", InstanceProfileName=name)
    held = [r["RoleName"] for r in profile.get("Roles", [])]
    for other in held:
        if other != name:
            client.remove_role_from_instance_profile(aws_retry=True, InstanceProfileName=name, RoleName=other)
    if name not in held:
        client.add_role_to_instance_profile(aws_retry=True, InstanceProfileName=name, RoleName=name)
    return profile["Arn"]


def converge(module: Any, client: Any, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for spec, found in zip(specs, read_all(module, client, specs, "present"), strict=True):
        entries = plan(spec, found)
        if not module.check_mode:
            try:
                for entry in entries:
                    if not entry["changed"]:
                        continue
                    if entry["drift_kind"] == "iam_role":
                        entry["iam_role"]["arn"] = write_role(client, spec, found, entry["diff"])
                    elif entry["drift_kind"] == "iam_policy":
                        policy = json.dumps(entry["diff"]["after"]["policy"])
                        client.put_role_policy(
                            aws_retry=True,
                            RoleName=spec["name"],
                            PolicyName=entry["policy_name"],
                            PolicyDocument=policy,
                        )
                    else:
                        entry["iam_instance_profile"]["arn"] = write_profile(client, spec["name"], found)
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg=f"Failed to converge role {spec['name']}")
        results += entries
    return results


def remove(module: Any, client: Any, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for spec, found in zip(specs, read_all(module, client, specs, "absent"), strict=True):
        name = spec["name"]
        role = found["role"]
        profile = found.get("profile")
        entry: dict[str, Any] = {
            "label": name,
            "drift_kind": "iam_role",
            "role_name": name,
            "iam_role": {"role_name": name},
        }
        before: dict[str, Any] = {}
        if role is not None:
            before = {
                "managed_policies": sorted(found["managed"] or []),
                "inline_policies": sorted(found["inline_names"] or []),
                "instance_profiles": sorted(p["InstanceProfileName"] for p in found["profiles"] or []),
            }
            entry["iam_role"]["arn"] = role["Arn"]
        if profile is not None:
            before["instance_profile"] = name
        entry["diff"] = {"before": before, "after": {}} if before else {}
        entry["changed"] = bool(before)
        entry["action"] = "deleted" if before else "unchanged"
        if before and not module.check_mode:
            try:
                for held in found.get("profiles") or []:
                    client.remove_role_from_instance_profile(
                        aws_retry=True, InstanceProfileName=held["InstanceProfileName"], RoleName=name
                    )
                if profile is not None:
                    for other in profile.get("Roles", []):
                        if role is None or other["RoleName"] != name:
                            client.remove_role_from_instance_profile(
                                aws_retry=True, InstanceProfileName=name, RoleName=other["RoleName"]
                            )
                    client.delete_instance_profile(aws_retry=True, InstanceProfileName=name)
                if role is not None:
                    for arn in before["managed_policies"]:
                        client.detach_role_policy(aws_retry=True, RoleName=name, PolicyArn=arn)
                    for policy in before["inline_policies"]:
                        client.delete_role_policy(aws_retry=True, RoleName=name, PolicyName=policy)
                    client.delete_role(aws_retry=True, RoleName=name)
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg=f"Failed to delete role {name}")
        results.append(entry)
    return results


def check_input(module: Any, specs: list[dict[str, Any]], state: str) -> None:
    """Stop before any request on what IAM would refuse halfway."""
    names = [spec["name"] for spec in specs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        module.fail_json(msg=f"roles declared more than once: {', '.join(duplicated)}")
    if state == "absent":
        return
    for spec in specs:
        if not spec["assume_role_policy"]:
            module.fail_json(msg=f"role {spec['name']}: assume_role_policy is required with state=present")
        not_arns = [policy for policy in spec["managed_policies"] if not policy.startswith("arn:")]
        if not_arns:
            module.fail_json(msg=f"role {spec['name']}: managed_policies must be ARNs: {', '.join(not_arns)}")
        for key, value in [("assume_role_policy", spec["assume_role_policy"]), *spec["inline_policies"].items()]:
            try:
                parsed = document(value)
            except ValueError as e:
                module.fail_json(msg=f"role {spec['name']}: {key} is not JSON: {e}")
            if not isinstance(parsed, dict):
                module.fail_json(msg=f"role {spec['name']}: {key} is not a policy document (a JSON object)")


def main() -> None:
    role_options = dict(
        name=dict(type="str", required=True),
        assume_role_policy=dict(type="json"),
        description=dict(type="str"),
        tags=dict(type="dict", default={}),
        managed_policies=dict(type="list", elements="str", default=[]),
        inline_policies=dict(type="dict", default={}),
        instance_profile=dict(type="bool", default=False),
    )
    argument_spec = dict(
        roles=dict(type="list", elements="dict", required=True, options=role_options),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    specs, state = module.params["roles"], module.params["state"]
    check_input(module, specs, state)
    config = Config(max_pool_connections=MAX_THREADS, tcp_keepalive=True)
    client = module.client("iam", retry_decorator=AWSRetry.jittered_backoff(), config=config)
    results = converge(module, client, specs) if state == "present" else remove(module, client, specs)
    changed = [entry for entry in results if entry["changed"]]
    module.exit_json(
        changed=bool(changed),
        results=results,
        diff=results_diff(results),
    )


if __name__ == "__main__":
    main()
