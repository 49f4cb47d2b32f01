#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatch_alarm_targets_info
short_description: Find, in one call, the resources an environment's CloudWatch alarms watch
version_added: 1.0.0
description:
  - Looks up, side by side, the load balancer and the target group by name, the instances by
    their tags, the RDS instance, the ElastiCache replication group's member clusters and the
    SNS topic the alarms notify. Each is one request (the instances' one per page), so the
    lookups cost one round trip, where one info module per kind costs one run after another
    and reads what the alarms do not need (listeners, rules, attributes, tags, every cluster).
  - A resource that does not exist (yet) is returned empty, not an error; its alarms wait for
    it. It changes nothing.
  - What O(known) gives is not read.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  load_balancer_name:
    description: The application load balancer's name; empty looks up none.
    type: str
    default: ""
  target_group_name:
    description: The target group's name; empty looks up none.
    type: str
    default: ""
  instance_tags:
    description: The tags every instance looked up carries (all of them); empty looks up none.
    type: dict
    default: {}
  instance_states:
    description: The instance states that count (a terminated instance has no alarm).
    type: list
    elements: str
    default: [pending, running, stopping, stopped]
  db_instance_identifier:
    description: The RDS instance's identifier; empty looks up none.
    type: str
    default: ""
  cache_replication_group_id:
    description: The ElastiCache replication group whose member clusters are returned; empty looks up none.
    type: str
    default: ""
  topic_arn:
    description: The SNS topic whose existence is returned; empty looks up none.
    type: str
    default: ""
  known:
    description:
      - What the run already found, by the name of the result it stands for (C(load_balancer_arn),
        C(target_group_arn), C(instance_ids), C(db_instance_identifier), C(cache_cluster_ids),
        C(topic_exists)). Each one given is returned as given (lists sorted) and not read, so a
        playbook whose earlier roles created or read these resources sends no request for them.
      - An empty value is an answer too (the resource does not exist).
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find what the alarms watch
  cloudwatch_alarm_targets_info:
    load_balancer_name: mensetsu-prod-lb
    target_group_name: mensetsu-prod-api
    instance_tags: {Project: mensetsu, Environment: prod, Role: app}
    db_instance_identifier: mensetsu-prod-postgres
    cache_replication_group_id: mensetsu-prod-redis
    topic_arn: arn:aws:sns:ap-northeast-1:123456789012:mensetsu-prod-alerts
  register: found
"""

RETURN = r"""
load_balancer_arn:
  description: The load balancer's ARN; empty when it does not exist.
  returned: always
  type: str
target_group_arn:
  description: The target group's ARN; empty when it does not exist.
  returned: always
  type: str
instance_ids:
  description: The ids of the instances with every tag of O(instance_tags) in O(instance_states), sorted.
  returned: always
  type: list
  elements: str
db_instance_identifier:
  description: The RDS instance's identifier as RDS answers it; empty when it does not exist.
  returned: always
  type: str
cache_cluster_ids:
  description: The member clusters of the replication group (one node, 0001, each), sorted; empty when it is absent.
  returned: always
  type: list
  elements: str
topic_exists:
  description: Whether the SNS topic O(topic_arn) exists.
  returned: always
  type: bool
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# The error code each service answers for a name it does not know (the service models' shapes).
NOT_FOUND = {
    "load_balancer": "LoadBalancerNotFound",
    "target_group": "TargetGroupNotFound",
    "db": "DBInstanceNotFound",
    "cache": "ReplicationGroupNotFoundFault",
    "topic": "NotFound",
}


def absent_if_not_found(kind: str, read: Any, empty: Any) -> Any:
    """read(); `empty` when the service says the resource does not exist."""
    try:
        return read()
    except is_boto3_error_code(NOT_FOUND[kind]):
        return empty


def read_load_balancer(elbv2: Any, name: str) -> str:
    found = absent_if_not_found(
        "load_balancer", lambda: elbv2.describe_load_balancers(Names=[name], aws_retry=True)["LoadBalancers"], []
    )
    return found[0]["LoadBalancerArn"] if found else ""


def read_target_group(elbv2: Any, name: str) -> str:
    found = absent_if_not_found(
        "target_group", lambda: elbv2.describe_target_groups(Names=[name], aws_retry=True)["TargetGroups"], []
    )
    return found[0]["TargetGroupArn"] if found else ""


def read_instances(ec2: Any, tags: dict[str, str], states: list[str]) -> list[str]:
    filters = [{"Name": f"tag:{key}", "Values": [str(value)]} for key, value in sorted(tags.items())]
    filters.append({"Name": "instance-state-name", "Values": states})
    pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
    return sorted(
        instance["InstanceId"]
        for page in pages
        for reservation in page.get("Reservations", [])
        for instance in reservation.get("Instances", [])
    )


def read_db(rds: Any, identifier: str) -> str:
    found = absent_if_not_found(
        "db", lambda: rds.describe_db_instances(DBInstanceIdentifier=identifier, aws_retry=True)["DBInstances"], []
    )
    return found[0]["DBInstanceIdentifier"] if found else ""


def read_cache(elasticache: Any, group_id: str) -> list[str]:
    found = absent_if_not_found(
        "cache",
        lambda: elasticache.describe_replication_groups(ReplicationGroupId=group_id, aws_retry=True)[
            "ReplicationGroups"
        ],
        [],
    )
    return sorted(found[0].get("MemberClusters") or []) if found else []


def read_topic(sns: Any, arn: str) -> bool:
    return absent_if_not_found("topic", lambda: bool(sns.get_topic_attributes(TopicArn=arn, aws_retry=True)), False)


def main() -> None:
    argument_spec = dict(
        load_balancer_name=dict(type="str", default=""),
        target_group_name=dict(type="str", default=""),
        instance_tags=dict(type="dict", default={}),
        instance_states=dict(type="list", elements="str", default=["pending", "running", "stopping", "stopped"]),
        db_instance_identifier=dict(type="str", default=""),
        cache_replication_group_id=dict(type="str", default=""),
        topic_arn=dict(type="str", default=""),
        known=dict(type="dict", default={}),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    found: dict[str, Any] = {
        "load_balancer_arn": "",
        "target_group_arn": "",
        "instance_ids": [],
        "db_instance_identifier": "",
        "cache_cluster_ids": [],
        "topic_exists": False,
    }
    unknown = sorted(set(params["known"]) - set(found))
    if unknown:
        module.fail_json(
            msg=f"known: {', '.join(unknown)} is not a result of this module (it returns {', '.join(found)})"
        )
    known = {key: sorted(value) if isinstance(value, list) else value for key, value in params["known"].items()}
    found.update(known)
    retry = AWSRetry.jittered_backoff(retries=10)
    # Clients are made one after another (a boto3 session is not thread-safe); their calls then
    # run side by side (a client is).
    # Each result by the option that names what to read; a known one is not read.
    asked = {
        "load_balancer_arn": params["load_balancer_name"],
        "target_group_arn": params["target_group_name"],
        "instance_ids": params["instance_tags"],
        "db_instance_identifier": params["db_instance_identifier"],
        "cache_cluster_ids": params["cache_replication_group_id"],
        "topic_exists": params["topic_arn"],
    }
    wanted = {key for key, name in asked.items() if name and key not in known}
    reads: dict[str, Any] = {}
    if wanted & {"load_balancer_arn", "target_group_arn"}:
        elbv2 = module.client("elbv2", retry_decorator=retry)
        reads["load_balancer_arn"] = lambda: read_load_balancer(elbv2, params["load_balancer_name"])
        reads["target_group_arn"] = lambda: read_target_group(elbv2, params["target_group_name"])
    if "instance_ids" in wanted:
        ec2 = module.client("ec2", retry_decorator=retry)
        reads["instance_ids"] = lambda: read_instances(ec2, params["instance_tags"], params["instance_states"])
    if "db_instance_identifier" in wanted:
        rds = module.client("rds", retry_decorator=retry)
        reads["db_instance_identifier"] = lambda: read_db(rds, params["db_instance_identifier"])
    if "cache_cluster_ids" in wanted:
        elasticache = module.client("elasticache", retry_decorator=retry)
        reads["cache_cluster_ids"] = lambda: read_cache(elasticache, params["cache_replication_group_id"])
    if "topic_exists" in wanted:
        sns = module.client("sns", retry_decorator=retry)
        reads["topic_exists"] = lambda: read_topic(sns, params["topic_arn"])
    reads = {key: read for key, read in reads.items() if key in wanted}
    with ThreadPoolExecutor(max_workers=max(1, len(reads))) as pool:
        futures = {key: pool.submit(read) for key, read in reads.items()}
        for key, future in futures.items():
            try:
                found[key] = future.result()
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg=f"Failed to read {key.replace('_', ' ')}")
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()
