#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: data_subnet_groups
short_description: The database's RDS subnet group and the cache's ElastiCache subnet group, read at once
version_added: 1.0.0
description:
  - Keeps an RDS DB subnet group (description, subnets, tags) and an ElastiCache cache subnet group
    (description, subnets) in one call. Both groups, and the RDS group's tags (by the ARN the group has,
    built from O(account_id)), are read in one round trip; each is compared with its declaration and
    written only where it differs.
  - It exists because M(amazon.aws.rds_subnet_group) reads the group and its tags twice, one request
    after another (four round trips on a run that changes nothing), and
    M(community.aws.elasticache_subnet_group) reads its group twice (two more), in two tasks.
  - Without O(account_id) the RDS group's tags are read after the group, by the ARN it returns (two
    round trips). A failed early tag read (an ARN the account does not have) is read again the same way.
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no write.
    Returns one entry per group in RV(results), shaped as the collection modules return them
    (C(subnet_group), C(cache_subnet_group)), so that the drift report names each one as AWS does.
  - Removal stays with M(amazon.aws.rds_subnet_group) and M(community.aws.elasticache_subnet_group)
    (C(state=absent)).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  rds:
    description: The RDS DB subnet group; not managed when not given.
    type: dict
    suboptions:
      name: {description: The group's name., type: str, required: true}
      description: {description: The group's description., type: str, required: true}
      subnets: {description: The ids of its subnets., type: list, elements: str, required: true}
      tags: {description: Its tags (exactly these)., type: dict, default: {}}
  elasticache:
    description: The ElastiCache cache subnet group; not managed when not given.
    type: dict
    suboptions:
      name: {description: The group's name., type: str, required: true}
      description: {description: The group's description., type: str, required: true}
      subnets: {description: The ids of its subnets., type: list, elements: str, required: true}
  account_id:
    description:
      - The AWS account's id, with which the RDS group's ARN is known before the group is read, so that
        its tags are read beside it.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the database's and the cache's subnet groups in the private subnets
  data_subnet_groups:
    rds:
      name: mensetsu-dev-db
      description: mensetsu-dev PostgreSQL, private subnets
      subnets: [subnet-0aaa, subnet-0bbb]
      tags: {Project: mensetsu, Environment: dev}
    elasticache:
      name: mensetsu-dev-redis
      description: mensetsu-dev Redis, private subnets
      subnets: [subnet-0aaa, subnet-0bbb]
    account_id: "123456789012"
"""

RETURN = r"""
results:
  description: "One entry per group: the RDS group, then the ElastiCache group (those given)."
  returned: always
  type: list
  elements: dict
  contains:
    resource: {description: "V(rds_subnet_group) or V(cache_subnet_group).", type: str}
    label: {description: The resource and its name., type: str}
    drift_kind: {description: The collection module whose resource kind it is (for the drift report)., type: str}
    action: {description: "V(created), V(updated) or V(unchanged).", type: str}
    changed: {description: "Whether it was (or, in check mode, would be) written.", type: bool}
    diff: {description: "The settings that differ, before (actual) and after (declared).", type: dict}
    subnet_group:
      description: "The RDS group as M(amazon.aws.rds_subnet_group) returns it: C(name), C(db_subnet_group_arn)..."
      type: dict
    cache_subnet_group:
      description: "The ElastiCache group as M(community.aws.elasticache_subnet_group) returns it: C(name), C(arn)..."
      type: dict
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import differences, result_entry, results_diff
from ansible.module_utils.parallel_reads import arn_to_be, aws_read, early_read, read_in_parallel
from ansible.module_utils.tag_sync import apply_tag_changes, plan_tag_changes
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list


def subnet_ids(group: dict[str, Any]) -> list[str]:
    return sorted(subnet["SubnetIdentifier"] for subnet in group.get("Subnets") or [])


def rds_tags(client: Any, arn: str) -> dict[str, str]:
    return {
        tag["Key"]: tag["Value"] for tag in client.list_tags_for_resource(aws_retry=True, ResourceName=arn)["TagList"]
    }


class SubnetGroups:
    def __init__(self, module: Any, rds: Any, elasticache: Any) -> None:
        self.module, self.rds, self.elasticache = module, rds, elasticache
        self.write = not module.check_mode
        self.results: list[dict[str, Any]] = []

    def read(self) -> dict[str, Any]:
        """Both groups, and the RDS group's tags by the ARN it has, in one round trip."""
        params, reads = self.module.params, {}
        if params["rds"]:
            name = params["rds"]["name"]

            def rds_group() -> dict[str, Any] | None:
                try:
                    found = self.rds.describe_db_subnet_groups(aws_retry=True, DBSubnetGroupName=name)
                except is_boto3_error_code("DBSubnetGroupNotFoundFault"):
                    return None
                return (found.get("DBSubnetGroups") or [None])[0]

            reads["rds"] = aws_read(self.module, f"DB subnet group {name}", rds_group)
            if params["account_id"]:
                # RDS keeps a subnet group's name in lower case, in its ARN too.
                arn = arn_to_be(self.rds, "rds", params["account_id"], f"subgrp:{name.lower()}")
                reads["rds_tags"] = early_read(lambda: rds_tags(self.rds, arn))
        if params["elasticache"]:
            cache_name = params["elasticache"]["name"]

            def cache_group() -> dict[str, Any] | None:
                try:
                    found = self.elasticache.describe_cache_subnet_groups(
                        aws_retry=True, CacheSubnetGroupName=cache_name
                    )
                except is_boto3_error_code("CacheSubnetGroupNotFoundFault"):
                    return None
                return (found.get("CacheSubnetGroups") or [None])[0]

            reads["elasticache"] = aws_read(self.module, f"cache subnet group {cache_name}", cache_group)
        found = read_in_parallel(self.module, reads)
        group = found.get("rds")
        if group and found.get("rds_tags") is None:  # not read early, or the early read failed
            found["rds_tags"] = aws_read(
                self.module,
                f"the tags of DB subnet group {group['DBSubnetGroupName']}",
                lambda: rds_tags(self.rds, group["DBSubnetGroupArn"]),
            )()
        return found

    def converge_rds(self, group: dict[str, Any] | None, tags: dict[str, str] | None) -> None:
        spec = self.module.params["rds"]
        declared = {
            "description": spec["description"],
            "subnets": sorted(spec["subnets"]),
            "tags": {str(key): str(value) for key, value in (spec["tags"] or {}).items()},
        }
        actual = None
        if group:
            actual = {"description": group.get("DBSubnetGroupDescription", ""), "subnets": subnet_ids(group)}
            actual["tags"] = tags or {}
        diff = differences(declared, actual)
        entry = result_entry(
            self.results, "rds_subnet_group", "rds_subnet_group", diff, group is not None, spec["name"]
        )
        if diff and self.write:
            tag_list = [{"Key": key, "Value": value} for key, value in sorted(declared["tags"].items())]
            if not group:
                group = self.rds.create_db_subnet_group(
                    aws_retry=True,
                    DBSubnetGroupName=spec["name"],
                    DBSubnetGroupDescription=spec["description"],
                    SubnetIds=spec["subnets"],
                    **({"Tags": tag_list} if tag_list else {}),
                )["DBSubnetGroup"]
            else:
                if any(key in diff["after"] for key in ("description", "subnets")):
                    group = self.rds.modify_db_subnet_group(
                        aws_retry=True,
                        DBSubnetGroupName=spec["name"],
                        DBSubnetGroupDescription=spec["description"],
                        SubnetIds=spec["subnets"],
                    )["DBSubnetGroup"]
                if "tags" in diff["after"]:
                    arn = group["DBSubnetGroupArn"]

                    def add(tags: dict[str, str]) -> None:
                        self.rds.add_tags_to_resource(
                            aws_retry=True, ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(tags)
                        )

                    def remove(keys: list[str]) -> None:
                        self.rds.remove_tags_from_resource(aws_retry=True, ResourceName=arn, TagKeys=keys)

                    changes = plan_tag_changes(actual["tags"], declared["tags"], purge_tags=True)
                    apply_tag_changes(changes, False, add, remove)
        now = declared if diff and self.write else (actual or declared)
        entry["subnet_group"] = {
            "name": spec["name"],
            "db_subnet_group_name": spec["name"],
            "db_subnet_group_arn": (group or {}).get("DBSubnetGroupArn", ""),
            "description": now["description"],
            "subnet_ids": now["subnets"],
            "vpc_id": (group or {}).get("VpcId", ""),
            "status": (group or {}).get("SubnetGroupStatus", ""),
            "tags": now["tags"],
        }

    def converge_elasticache(self, group: dict[str, Any] | None) -> None:
        spec = self.module.params["elasticache"]
        declared = {"description": spec["description"], "subnets": sorted(spec["subnets"])}
        actual = None
        if group:
            actual = {"description": group.get("CacheSubnetGroupDescription", ""), "subnets": subnet_ids(group)}
        diff = differences(declared, actual)
        kind = "elasticache_subnet_group"
        entry = result_entry(self.results, "cache_subnet_group", kind, diff, group is not None, spec["name"])
        if diff and self.write:
            request = {
                "CacheSubnetGroupName": spec["name"],
                "CacheSubnetGroupDescription": spec["description"],
                "SubnetIds": spec["subnets"],
            }
            call = self.elasticache.modify_cache_subnet_group if group else self.elasticache.create_cache_subnet_group
            group = call(aws_retry=True, **request)["CacheSubnetGroup"]
        now = declared if diff and self.write else (actual or declared)
        entry["cache_subnet_group"] = {
            "name": spec["name"],
            "arn": (group or {}).get("ARN", ""),
            "description": now["description"],
            "subnet_ids": now["subnets"],
            "vpc_id": (group or {}).get("VpcId", ""),
        }


def converge(module: Any, rds: Any, elasticache: Any) -> dict[str, Any]:
    groups = SubnetGroups(module, rds, elasticache)
    try:
        found = groups.read()
        if module.params["rds"]:
            groups.converge_rds(found.get("rds"), found.get("rds_tags"))
        if module.params["elasticache"]:
            groups.converge_elasticache(found.get("elasticache"))
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg="Failed to converge the subnet groups")
    changed = [entry for entry in groups.results if entry["changed"]]
    return {
        "changed": bool(changed),
        "results": groups.results,
        "diff": results_diff(groups.results),
    }


def main() -> None:
    group_options = dict(
        name=dict(type="str", required=True),
        description=dict(type="str", required=True),
        subnets=dict(type="list", elements="str", required=True),
    )
    argument_spec = dict(
        rds=dict(type="dict", options={**group_options, "tags": dict(type="dict", default={})}),
        elasticache=dict(type="dict", options=group_options),
        account_id=dict(type="str"),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    retry = AWSRetry.jittered_backoff()
    rds = module.client("rds", retry_decorator=retry) if module.params["rds"] else None
    elasticache = module.client("elasticache", retry_decorator=retry) if module.params["elasticache"] else None
    module.exit_json(**converge(module, rds, elasticache))


if __name__ == "__main__":
    main()
