#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_app_hosts
short_description: A set of EC2 instances found by their Name tag, read with one request
version_added: 1.0.0
description:
  - Keeps the declared instances (one per O(hosts) entry, found by its C(Name) tag among the instances
    O(filters) select in a live state) with one C(DescribeInstances). Type, security groups, instance
    profile, metadata options, tags and state come with it. Each is compared with its declaration and
    written only where it differs; a missing one is launched (C(RunInstances)).
  - It exists because M(amazon.aws.ec2_instance) takes one instance per run and, on a run that changes
    nothing, reads the instance, its tags, two of its attributes, its subnet, its security groups and the
    instance three times more, one request after another (9 round trips, after the
    M(amazon.aws.ec2_instance_info) that found the hosts).
  - An existing instance is never replaced. Its image, subnet, key pair and volumes are launch settings
    (a newer image reaches the hosts through a replacement, playbooks/replace_hosts.yml); the image is
    resolved (O(image_id), else the O(image_parameter) SSM parameter) only when an instance is launched.
  - A different instance type is applied as M(amazon.aws.ec2_instance) does it. The instance is stopped,
    its type modified, and it is started again. A stopped instance is started.
  - Tags are exactly the declared ones (AWS's C(aws:*) tags never count).
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no write.
    Returns one entry per host in RV(results) (C(drift_kind) V(ec2_instance), C(instances) as that module
    returns them) so that the drift report names each one as AWS does.
  - Termination stays with M(amazon.aws.ec2_instance) (C(state=absent)).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  hosts:
    description: The instances to have.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: "Its C(Name) tag, which identifies it.", type: str, required: true}
      subnet_id: {description: The subnet it is launched in., type: str, required: true}
      tags: {description: Tags of its own (besides O(tags) and C(Name))., type: dict, default: {}}
  filters:
    description: EC2 filters that select the environment's instances of this kind (C(tag:Role)...).
    type: dict
    required: true
  instance_type:
    description: The instance type.
    type: str
    required: true
  image_id:
    description: The image of a launched instance; when empty, the O(image_parameter)'s value.
    type: str
    default: ""
  image_parameter:
    description: An SSM parameter that holds the image id (read only to launch an instance).
    type: str
    default: ""
  key_name:
    description: The key pair of a launched instance.
    type: str
  security_groups:
    description: The ids of the instance's security groups (on its one interface).
    type: list
    elements: str
    required: true
  instance_profile:
    description: The instance profile, by ARN or name.
    type: str
    required: true
  assign_public_ip:
    description: Whether a launched instance gets a public address.
    type: bool
    default: true
  root_volume:
    description: The root volume of a launched instance.
    type: dict
    required: true
    suboptions:
      device_name: {description: Its device name., type: str, default: /dev/xvda}
      size: {description: Its size in GiB., type: int, required: true}
      type: {description: Its volume type., type: str, default: gp3}
      encrypted: {description: Whether it is encrypted., type: bool, default: true}
  metadata_options:
    description: The instance metadata service's settings.
    type: dict
    required: true
    suboptions:
      http_endpoint: {description: V(enabled) or V(disabled)., type: str, default: enabled}
      http_tokens: {description: V(required) (IMDSv2 only) or V(optional)., type: str, default: required}
      http_put_response_hop_limit: {description: The PUT response hop limit., type: int, default: 2}
  tags:
    description: The tags of every instance (and its volumes at launch).
    type: dict
    default: {}
  wait_timeout:
    description: Seconds to wait for an instance to be running (or stopped, to change its type).
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Launch the app hosts
  ec2_app_hosts:
    hosts:
      - {name: mensetsu-dev-app-1, subnet_id: subnet-0aaa}
    filters: {"tag:Project": mensetsu, "tag:Environment": dev, "tag:Role": app}
    instance_type: t3.small
    image_parameter: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
    key_name: mensetsu-dev-admin
    security_groups: [sg-0123456789abcdef0]
    instance_profile: arn:aws:iam::123456789012:instance-profile/mensetsu-dev-app
    root_volume: {size: 20}
    metadata_options: {http_tokens: required, http_put_response_hop_limit: 2}
    tags: {Project: mensetsu, Environment: dev, Role: app}
"""

RETURN = r"""
instances:
  description: "The declared instances in their order, as M(amazon.aws.ec2_instance) returns them (snake_case)."
  returned: always (one check mode would launch is left out)
  type: list
  elements: dict
instance_ids:
  description: Their ids.
  returned: always
  type: list
  elements: str
results:
  description: One entry per declared host.
  returned: always
  type: list
  elements: dict
  contains:
    resource: {description: V(instance)., type: str}
    label: {description: The resource and its name., type: str}
    drift_kind: {description: V(ec2_instance) (for the drift report)., type: str}
    action: {description: "V(created), V(updated) or V(unchanged).", type: str}
    changed: {description: "Whether it was (or, in check mode, would be) written.", type: bool}
    diff: {description: "The settings that differ, before (actual) and after (declared).", type: dict}
    instances: {description: "The instance, as in RV(instances) (empty for one check mode would launch).", type: list}
    instance_ids: {description: Its id., type: list}
"""

import time
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.ec2_state import (
    differences,
    ec2_tags,
    result_entry,
    results_diff,
    tag_specifications,
    write_ec2_tags,
)
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

PROFILE_DELAY = 10  # seconds before RunInstances is asked again for a new instance profile
LIVE_STATES = ["pending", "running", "stopping", "stopped"]
# option -> the key of DescribeInstances' MetadataOptions
METADATA = {
    "http_endpoint": "HttpEndpoint",
    "http_tokens": "HttpTokens",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
}


def pretty(instance: dict[str, Any]) -> dict[str, Any]:
    """An instance as amazon.aws.ec2_instance returns it: snake_case, tags as a dict."""
    found = camel_dict_to_snake_dict(instance, ignore_list=["Tags"])
    found["tags"] = {tag["Key"]: tag["Value"] for tag in instance.get("Tags") or []}
    return found


def primary_groups(instance: dict[str, Any]) -> list[dict[str, Any]]:
    """The security groups of the instance's primary interface (the ones ModifyInstanceAttribute sets)."""
    for interface in instance.get("NetworkInterfaces") or []:
        if (interface.get("Attachment") or {}).get("DeviceIndex") == 0:
            return interface.get("Groups") or []
    return instance.get("SecurityGroups") or []


def same_profile(declared: str, arn: str | None) -> bool:
    """An instance profile given by ARN or by name is the instance's (an ARN ends with /<name>)."""
    return bool(arn) and (declared == arn or str(arn).rsplit("/", 1)[-1] == declared)


def profile_spec(declared: str) -> dict[str, str]:
    return {"Arn": declared} if declared.startswith("arn:") else {"Name": declared}


class AppHosts:
    def __init__(self, module: Any, ec2: Any, ssm: Any) -> None:
        self.module, self.ec2, self.ssm = module, ec2, ssm
        self.params = module.params
        self.write = not module.check_mode
        self.results: list[dict[str, Any]] = []
        self.image = ""

    def find(self) -> dict[str, list[dict[str, Any]]]:
        """The live instances the filters select, by their Name tag: one DescribeInstances, paginated."""
        filters = [
            {"Name": key, "Values": value if isinstance(value, list) else [value]}
            for key, value in self.params["filters"].items()
        ]
        filters.append({"Name": "instance-state-name", "Values": LIVE_STATES})
        by_name: dict[str, list[dict[str, Any]]] = {}
        for page in self.ec2.get_paginator("describe_instances").paginate(Filters=filters):
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    by_name.setdefault(ec2_tags(instance).get("Name", ""), []).append(instance)
        return by_name

    def declared(self, host: dict[str, Any]) -> dict[str, Any]:
        tags = {**self.params["tags"], **(host["tags"] or {}), "Name": host["name"]}
        return {
            "instance_type": self.params["instance_type"],
            "security_groups": sorted(self.params["security_groups"]),
            "instance_profile": self.params["instance_profile"],
            "metadata_options": {key: self.params["metadata_options"][key] for key in METADATA},
            "state": "running",
            "tags": {str(key): str(value) for key, value in tags.items()},
        }

    def actual(self, instance: dict[str, Any]) -> dict[str, Any]:
        options = instance.get("MetadataOptions") or {}
        profile = (instance.get("IamInstanceProfile") or {}).get("Arn")
        state = (instance.get("State") or {}).get("Name")
        return {
            "instance_type": instance.get("InstanceType"),
            "security_groups": sorted(group["GroupId"] for group in primary_groups(instance)),
            # The declared spelling (ARN or name) when it is the instance's, else its ARN.
            "instance_profile": self.params["instance_profile"]
            if same_profile(self.params["instance_profile"], profile)
            else profile,
            "metadata_options": {key: options.get(api) for key, api in METADATA.items()},
            "state": "running" if state == "pending" else state,
            "tags": ec2_tags(instance),
        }

    def image_id(self) -> str:
        """The image of an instance to launch, read once (the SSM parameter only when needed)."""
        if not self.image:
            self.image = self.params["image_id"]
            if not self.image:
                if not self.params["image_parameter"]:
                    self.module.fail_json(msg="an instance must be launched: give image_id or image_parameter")
                self.image = self.ssm.get_parameter(aws_retry=True, Name=self.params["image_parameter"])["Parameter"][
                    "Value"
                ]
        return self.image

    def wait(self, waiter: str, instance_id: str) -> None:
        delay = 5
        self.ec2.get_waiter(waiter).wait(
            InstanceIds=[instance_id],
            WaiterConfig={"Delay": delay, "MaxAttempts": max(1, self.params["wait_timeout"] // delay)},
        )

    def launch(self, host: dict[str, Any], declared: dict[str, Any]) -> str:
        volume = self.params["root_volume"]
        interface = {
            "DeviceIndex": 0,
            "SubnetId": host["subnet_id"],
            "Groups": self.params["security_groups"],
            "AssociatePublicIpAddress": self.params["assign_public_ip"],
            "DeleteOnTermination": True,
        }
        request = {
            "ImageId": self.image_id(),
            "InstanceType": self.params["instance_type"],
            "MinCount": 1,
            "MaxCount": 1,
            "NetworkInterfaces": [interface],
            "IamInstanceProfile": profile_spec(self.params["instance_profile"]),
            "BlockDeviceMappings": [
                {
                    "DeviceName": volume["device_name"],
                    "Ebs": {
                        "VolumeSize": volume["size"],
                        "VolumeType": volume["type"],
                        "Encrypted": volume["encrypted"],
                        "DeleteOnTermination": True,
                    },
                }
            ],
            "MetadataOptions": {METADATA[key]: value for key, value in declared["metadata_options"].items()},
            "TagSpecifications": tag_specifications("instance", declared["tags"])
            + tag_specifications("volume", declared["tags"]),
        }
        if self.params["key_name"]:
            request["KeyName"] = self.params["key_name"]
        try:
            launched = self.ec2.run_instances(aws_retry=True, **request)
        except AWS_ERRORS as error:
            # An instance profile IAM has just created takes seconds to be visible to EC2: asked again
            # 10 s later, as amazon.aws.ec2_instance does.
            if "Invalid IAM Instance Profile" not in str(error):
                raise
            time.sleep(PROFILE_DELAY)
            launched = self.ec2.run_instances(aws_retry=True, **request)
        return launched["Instances"][0]["InstanceId"]

    def update(
        self, instance: dict[str, Any], declared: dict[str, Any], actual: dict[str, Any], after: dict[str, Any]
    ) -> None:
        ec2, instance_id = self.ec2, instance["InstanceId"]
        if "tags" in after:
            write_ec2_tags(ec2, instance_id, declared["tags"], actual["tags"])
        if "security_groups" in after:
            if len(instance.get("NetworkInterfaces") or []) > 1:
                # ModifyInstanceAttribute sets the groups of a single-interface instance only.
                self.module.fail_json(
                    msg=f"{instance_id} has several network interfaces: set its groups on the primary one "
                    f"({', '.join(self.params['security_groups'])}) by hand or relaunch it"
                )
            ec2.modify_instance_attribute(aws_retry=True, InstanceId=instance_id, Groups=self.params["security_groups"])
        if "metadata_options" in after:
            changed = {
                METADATA[key]: value
                for key, value in declared["metadata_options"].items()
                if actual["metadata_options"].get(key) != value
            }
            ec2.modify_instance_metadata_options(aws_retry=True, InstanceId=instance_id, **changed)
        if "instance_profile" in after:
            associations = ec2.describe_iam_instance_profile_associations(
                aws_retry=True, Filters=[{"Name": "instance-id", "Values": [instance_id]}]
            )["IamInstanceProfileAssociations"]
            live = [item for item in associations if item.get("State") in ("associating", "associated")]
            profile = profile_spec(self.params["instance_profile"])
            if live:
                ec2.replace_iam_instance_profile_association(
                    aws_retry=True, AssociationId=live[0]["AssociationId"], IamInstanceProfile=profile
                )
            else:
                ec2.associate_iam_instance_profile(aws_retry=True, InstanceId=instance_id, IamInstanceProfile=profile)
        state = (instance.get("State") or {}).get("Name")
        if "instance_type" in after:
            if state in ("running", "pending", "stopping"):
                if state != "stopping":
                    ec2.stop_instances(aws_retry=True, InstanceIds=[instance_id])
                self.wait("instance_stopped", instance_id)
            ec2.modify_instance_attribute(
                aws_retry=True, InstanceId=instance_id, InstanceType={"Value": self.params["instance_type"]}
            )
            state = "stopped"
        if state in ("stopped", "stopping"):
            if state == "stopping":
                self.wait("instance_stopped", instance_id)
            ec2.start_instances(aws_retry=True, InstanceIds=[instance_id])

    def converge(self) -> list[str]:
        by_name = self.find()
        names = [host["name"] for host in self.params["hosts"]]
        if len(set(names)) != len(names):
            self.module.fail_json(msg=f"hosts: each name once (it identifies the instance): {names}")
        touched: list[str] = []
        ids: list[str] = []
        for host in self.params["hosts"]:
            found = by_name.get(host["name"]) or []
            if len(found) > 1:
                others = ", ".join(item["InstanceId"] for item in found)
                self.module.fail_json(msg=f"{len(found)} live instances are named {host['name']} ({others}): keep one")
            instance = found[0] if found else None
            declared = self.declared(host)
            actual = self.actual(instance) if instance else None
            diff = differences(declared, actual)
            entry = result_entry(self.results, "instance", "ec2_instance", diff, instance is not None, host["name"])
            instance_id = instance["InstanceId"] if instance else ""
            if diff and self.write:
                if instance:
                    self.update(instance, declared, actual, diff["after"])
                else:
                    instance_id = self.launch(host, declared)
                touched.append(instance_id)
            entry["instance_ids"] = [instance_id] if instance_id else []
            entry["instances"] = [pretty(instance)] if instance else []
            ids.append(instance_id)
        if touched:
            for instance_id in touched:
                self.wait("instance_running", instance_id)
            # What the writes made (a new instance's address, a new type): read once more.
            fresh = {
                item["InstanceId"]: item
                for page in self.ec2.get_paginator("describe_instances").paginate(InstanceIds=touched)
                for reservation in page["Reservations"]
                for item in reservation["Instances"]
            }
            for entry, instance_id in zip(self.results, ids, strict=True):
                if instance_id in fresh:
                    entry["instances"] = [pretty(fresh[instance_id])]
                    entry["instance_ids"] = [instance_id]
        return [instance_id for instance_id in ids if instance_id]


def converge(module: Any, ec2: Any, ssm: Any) -> dict[str, Any]:
    hosts = AppHosts(module, ec2, ssm)
    try:
        ids = hosts.converge()
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg="Failed to converge the instances")
    changed = [entry for entry in hosts.results if entry["changed"]]
    return {
        "changed": bool(changed),
        "instances": [instance for entry in hosts.results for instance in entry["instances"]],
        "instance_ids": ids,
        "results": hosts.results,
        "diff": results_diff(hosts.results),
    }


def main() -> None:
    argument_spec = dict(
        hosts=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                subnet_id=dict(type="str", required=True),
                tags=dict(type="dict", default={}),
            ),
        ),
        filters=dict(type="dict", required=True),
        instance_type=dict(type="str", required=True),
        image_id=dict(type="str", default=""),
        image_parameter=dict(type="str", default=""),
        key_name=dict(type="str"),
        security_groups=dict(type="list", elements="str", required=True),
        instance_profile=dict(type="str", required=True),
        assign_public_ip=dict(type="bool", default=True),
        root_volume=dict(
            type="dict",
            required=True,
            options=dict(
                device_name=dict(type="str", default="/dev/xvda"),
                size=dict(type="int", required=True),
                type=dict(type="str", default="gp3"),
                encrypted=dict(type="bool", default=True),
            ),
        ),
        metadata_options=dict(
            type="dict",
            required=True,
            options=dict(
                http_endpoint=dict(type="str", default="enabled"),
                http_tokens=dict(type="str", default="required", no_log=False),  # IMDS's mode, not a token
                http_put_response_hop_limit=dict(type="int", default=2),
            ),
        ),
        tags=dict(type="dict", default={}),
        wait_timeout=dict(type="int", default=600),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    retry = AWSRetry.jittered_backoff()
    ec2 = module.client("ec2", retry_decorator=retry)
    ssm = module.client("ssm", retry_decorator=retry)
    module.exit_json(**converge(module, ec2, ssm))


if __name__ == "__main__":
    main()
