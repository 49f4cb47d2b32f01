#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_long_creations_wait
short_description: Wait side by side until an RDS instance, a Redis group and a CloudFront distribution are ready
version_added: 1.0.0
description:
  - The second half of a long creation. The modules that create an RDS instance, a replication group
    or a distribution return once AWS has accepted the request (their C(wait=false)); the run goes on
    with its other stages while AWS builds them, and this module then waits for each one given,
    in parallel, so a run waits for the longest of them, not their sum.
  - Ready is C(available) for the instance and the group (a C(stopped) instance counts as settled,
    since an operator stopped it and it keeps its endpoint) and C(Deployed) for the distribution. A
    status that can no longer become ready (C(failed), C(incompatible-parameters), C(create-failed),
    C(deleting)...) fails at once, naming the resource and its status.
  - A resource whose O(known_statuses) entry is already ready is taken as ready without a request.
  - A resource AWS does not list yet (its Describe call is eventually consistent right after the
    creation) is waited for like one still being created.
  - It reads only. In check mode it looks once and does not wait.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  db_instance_identifier:
    description: The RDS instance to wait for; empty waits for none.
    type: str
    default: ""
  replication_group_id:
    description: The ElastiCache replication group to wait for; empty waits for none.
    type: str
    default: ""
  distribution_id:
    description: The CloudFront distribution to wait for; empty waits for none.
    type: str
    default: ""
  timeout:
    description: Seconds to wait for all of them before the task fails.
    type: int
    default: 7200
  poll_interval:
    description: Seconds between the first two looks; the interval then grows to at most 30 s.
    type: int
    default: 5
  known_statuses:
    description:
      - The status each resource had when the task that creates it last read it, by kind
        (C(db_instance), C(replication_group), C(distribution)). A resource whose known status is a
        ready one is not read again (its answer is then {}), so a run that changed neither costs no
        request here; leave a resource out when its task changed it, since AWS may report the old
        status for a moment after a modification.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Wait until the database and the cache are available
  aws_long_creations_wait:
    db_instance_identifier: mensetsu-prod-postgres
    replication_group_id: mensetsu-prod-redis
  register: ready
"""

RETURN = r"""
db_instance:
  description:
    - The RDS instance as DescribeDBInstances answers it, snake_cased (its endpoint in C(endpoint.address)).
    - "{} when none was given, or when O(known_statuses) said it was ready."
  returned: always
  type: dict
replication_group:
  description:
    - The replication group as DescribeReplicationGroups answers it, snake_cased, with C(primary_endpoint).
    - "{} when none was given, or when O(known_statuses) said it was ready."
  returned: always
  type: dict
distribution:
  description:
    - The distribution's C(id), C(arn), C(domain_name) and C(status).
    - "{} when none was given, or when O(known_statuses) said it was ready."
  returned: always
  type: dict
waited:
  description: Seconds the module waited.
  returned: always
  type: float
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

try:
    import botocore.exceptions

    AWS_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.polling import PollTimeout, poll_until
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

MAX_INTERVAL = 30
# Statuses from which a resource never becomes ready by waiting (the RDS and ElastiCache user guides'
# status tables); every other status is a step of a creation or a modification.
RDS_READY = {"available", "stopped"}
RDS_BROKEN = {
    "failed",
    "deleting",
    "incompatible-credentials",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "restore-error",
    "storage-full",
}
CACHE_READY = {"available"}
CACHE_BROKEN = {"create-failed", "deleting"}


class Broken(Exception):
    pass


def read_db(client: Any, identifier: str) -> dict[str, Any] | None:
    try:
        found = client.describe_db_instances(DBInstanceIdentifier=identifier, aws_retry=True)["DBInstances"]
    except is_boto3_error_code("DBInstanceNotFound"):
        return None
    return found[0] if found else None


def read_group(client: Any, group_id: str) -> dict[str, Any] | None:
    try:
        found = client.describe_replication_groups(ReplicationGroupId=group_id, aws_retry=True)["ReplicationGroups"]
    except is_boto3_error_code("ReplicationGroupNotFoundFault"):
        return None
    return found[0] if found else None


def read_distribution(client: Any, distribution_id: str) -> dict[str, Any] | None:
    try:
        return client.get_distribution(Id=distribution_id, aws_retry=True)["Distribution"]
    except is_boto3_error_code("NoSuchDistribution"):
        return None


def db_result(db: dict[str, Any]) -> dict[str, Any]:
    return camel_dict_to_snake_dict(db, ignore_list=["TagList"])


def group_result(group: dict[str, Any]) -> dict[str, Any]:
    described = camel_dict_to_snake_dict(group)
    node_groups = group.get("NodeGroups") or []
    endpoint = (node_groups[0].get("PrimaryEndpoint") if node_groups else None) or {}
    described["primary_endpoint"] = {"address": endpoint.get("Address", ""), "port": endpoint.get("Port", 0)}
    return described


def distribution_result(distribution: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": distribution["Id"],
        "arn": distribution["ARN"],
        "domain_name": distribution["DomainName"],
        "status": distribution["Status"],
    }


class Kind(NamedTuple):
    """How to wait for one kind of resource."""

    option: str  # the module option that names it
    service: str  # its client
    read: Callable[[Any, str], dict[str, Any] | None]  # its Describe answer, None when not listed
    status: Callable[[dict[str, Any]], str]  # the status in that answer
    ready: set[str]
    broken: set[str]  # statuses it never leaves for a ready one
    result: Callable[[dict[str, Any]], dict[str, Any]]  # the answer as the module returns it


KINDS = {
    "db_instance": Kind(
        "db_instance_identifier",
        "rds",
        read_db,
        lambda db: db["DBInstanceStatus"],
        RDS_READY,
        RDS_BROKEN,
        db_result,
    ),
    "replication_group": Kind(
        "replication_group_id",
        "elasticache",
        read_group,
        lambda group: group["Status"],
        CACHE_READY,
        CACHE_BROKEN,
        group_result,
    ),
    "distribution": Kind(
        "distribution_id",
        "cloudfront",
        read_distribution,
        lambda distribution: distribution["Status"],
        {"Deployed"},
        set(),
        distribution_result,
    ),
}


def wait_for(
    kind: str, name: str, fetch: Any, status: Any, ready: set, broken: set, timeout: float, interval: float
) -> dict[str, Any]:
    def done(answer: dict[str, Any] | None) -> bool:
        if answer is None:
            return False
        current = status(answer)
        if current in broken:
            raise Broken(f"{kind.replace('_', ' ')} {name} is {current}: it cannot become ready by waiting")
        return current in ready

    return poll_until(fetch, done, timeout=timeout, interval=interval, max_interval=max(interval, MAX_INTERVAL))


def main() -> None:
    argument_spec = dict(
        db_instance_identifier=dict(type="str", default=""),
        replication_group_id=dict(type="str", default=""),
        distribution_id=dict(type="str", default=""),
        timeout=dict(type="int", default=7200),
        poll_interval=dict(type="int", default=5),
        known_statuses=dict(type="dict", default={}),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    timeout = 0 if module.check_mode else params["timeout"]
    retry = AWSRetry.jittered_backoff(retries=10)
    # Clients one after another (a boto3 session is not thread-safe), their waits side by side.
    waits: dict[str, tuple[str, Any]] = {}  # kind -> (name, fetch)
    for kind_name, kind in KINDS.items():
        name = params[kind.option]
        if not name or params["known_statuses"].get(kind_name) in kind.ready:
            continue
        extra = {"region": "us-east-1"} if kind.service == "cloudfront" else {}
        client = module.client(kind.service, retry_decorator=retry, **extra)

        def fetch(read=kind.read, client=client, name=name):
            return read(client, name)

        waits[kind_name] = (name, fetch)
    started = time.monotonic()
    answers: dict[str, Any] = {kind_name: {} for kind_name in KINDS}
    with ThreadPoolExecutor(max_workers=max(1, len(waits))) as pool:
        futures = {
            kind_name: pool.submit(
                wait_for,
                kind_name,
                name,
                fetch,
                KINDS[kind_name].status,
                KINDS[kind_name].ready,
                KINDS[kind_name].broken,
                timeout=timeout,
                interval=params["poll_interval"],
            )
            for kind_name, (name, fetch) in waits.items()
        }
        for kind_name, future in futures.items():
            kind, name = KINDS[kind_name], waits[kind_name][0]
            what = f"{kind_name.replace('_', ' ')} {name}"
            try:
                answer = future.result()
            except Broken as e:
                module.fail_json(msg=str(e))
            except PollTimeout as e:
                if module.check_mode:
                    answer = e.last
                else:
                    last = "not listed" if e.last is None else kind.status(e.last)
                    module.fail_json(msg=f"{what} not ready after {e.waited:.0f} s ({last})")
            except AWS_ERRORS as e:
                module.fail_json_aws(e, msg=f"Failed to read {what}")
            answers[kind_name] = kind.result(answer) if answer else {}
    module.exit_json(changed=False, waited=round(time.monotonic() - started, 1), **answers)


if __name__ == "__main__":
    main()
