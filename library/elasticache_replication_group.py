#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elasticache_replication_group
short_description: Create, update and delete an ElastiCache Redis (or Valkey) replication group
description:
  - Manages an Amazon ElastiCache replication group with TLS in transit, encryption at rest and an AUTH token,
    which M(community.aws.elasticache) cannot do.
  - On an existing group the module changes only what C(ModifyReplicationGroup) can change (description, engine,
    engine version, node type, security groups, automatic failover, Multi-AZ, snapshot settings, maintenance window,
    parameter group, AUTH token with an explicit strategy) and the tags. A difference in a setting that cannot be
    modified in place (encryption, subnet group, port, number of nodes or shards) is reported as a warning and left
    alone.
  - AWS never returns the AUTH token, so O(auth_token) is sent only when the group is created, or when
    O(auth_token_update_strategy) is set; a re-run with the same or another token reports no change.
  - The security groups, engine version, maintenance window, subnet group and parameter group are read from the
    group's first member cluster. When that cluster cannot be described (the moto emulator does not keep member
    clusters) those settings cannot be compared; the module then leaves them alone and lists them in
    RV(unverified_settings).
  - The cache subnet group is managed with M(community.aws.elasticache_subnet_group), which is idempotent and
    supports check mode.
version_added: "1.0.0"
author:
  - mensetsu platform team (!UNKNOWN)
options:
  replication_group_id:
    description: The replication group's identifier (lowercase, 1-40 characters).
    type: str
    required: true
    aliases: [name]
  state:
    description: Whether the replication group should exist.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - The group's description. When creating and not set, the identifier is used.
    type: str
  engine:
    description: The engine. When creating and not set, C(redis).
    type: str
    choices: [redis, valkey]
  engine_version:
    description:
      - The engine version, for example C(7.1). The running version satisfies it when it has the same major version
        and is the same or newer (C(7.1.0) or C(7.2.4) for C(7.1)), as AWS's automatic minor upgrades leave it;
        only an older or another major version is changed.
    type: str
  cache_node_type:
    description: The node type, for example C(cache.t4g.micro). Required to create the group.
    type: str
  num_cache_clusters:
    description:
      - The number of nodes (primary and replicas) of a group with cluster mode disabled. Used when creating only.
    type: int
  num_node_groups:
    description:
      - The number of shards of a group with cluster mode enabled. Used when creating only.
      - Cluster mode comes from the parameter group; give a cluster-enabled one in O(cache_parameter_group_name)
        (for example C(default.redis7.cluster.on)).
    type: int
  replicas_per_node_group:
    description: The number of replicas in each shard. Used when creating only.
    type: int
  cache_subnet_group_name:
    description: The cache subnet group (private subnets) the nodes live in. Used when creating only.
    type: str
  cache_parameter_group_name:
    description: The cache parameter group.
    type: str
  security_group_ids:
    description: The VPC security group ids. When set, they replace the group's security groups.
    type: list
    elements: str
  port:
    description: The port the nodes listen on. Used when creating only; AWS uses 6379 when not set.
    type: int
  transit_encryption_enabled:
    description: Whether TLS is required in transit. Used when creating; a different existing value is warned about.
    type: bool
    default: true
  at_rest_encryption_enabled:
    description: Whether data at rest is encrypted. Used when creating; a different existing value is warned about.
    type: bool
    default: true
  auth_token:
    description:
      - The AUTH token (16 to 128 printable characters, no C(@), C(") or C(/)). Needs O(transit_encryption_enabled).
      - Sent when the group is created, or when O(auth_token_update_strategy) is set.
    type: str
  auth_token_update_strategy:
    description:
      - Change the AUTH token of an existing group. C(rotate) adds O(auth_token) next to the current token,
        C(set) makes O(auth_token) the only token (after a rotation), C(delete) removes AUTH.
      - Every run with this option set sends the change, so set it only in the run that rotates the token.
    type: str
    choices: [set, rotate, delete]
  automatic_failover:
    description: Whether a replica is promoted automatically when the primary fails (needs two nodes or more).
    type: bool
  multi_az:
    description: Whether the nodes are spread over availability zones (needs O(automatic_failover)).
    type: bool
  snapshot_retention_limit:
    description: How many days automatic snapshots are kept; C(0) turns them off.
    type: int
  snapshot_window:
    description: The daily time range (UTC) of automatic snapshots, for example C(17:00-18:00).
    type: str
  preferred_maintenance_window:
    description: The weekly maintenance window (UTC), for example C(sun:18:00-sun:19:00).
    type: str
  apply_immediately:
    description: Apply modifications now rather than in the next maintenance window.
    type: bool
    default: true
  final_snapshot_identifier:
    description: With O(state=absent), the name of a final snapshot to take before deleting.
    type: str
  wait:
    description:
      - Wait until the group is C(available) (O(state=present)) or gone (O(state=absent)).
      - The moto emulator keeps a deleted group in C(deleting) for ever; use O(wait=false) with O(state=absent) there.
    type: bool
    default: true
  wait_timeout:
    description: How many seconds to wait.
    type: int
    default: 1800
  account_id:
    description:
      - The account the group is in. Given, the group's tags (by the ARN the group has) and its first member
        cluster (by the name AWS gives it, C(<replication_group_id>-001)) are read beside the group itself, so a
        run that changes nothing costs one round trip, not two. A guess that turns out wrong is read again.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the Redis replication group with TLS, encryption at rest and AUTH
  elasticache_replication_group:
    replication_group_id: mensetsu-dev-redis
    description: mensetsu dev cache
    engine_version: "7.1"
    cache_node_type: cache.t4g.micro
    num_cache_clusters: 1
    cache_subnet_group_name: mensetsu-dev-cache
    security_group_ids: ["{{ cache_sg_id }}"]
    auth_token: "{{ redis_auth_token }}"
    snapshot_retention_limit: 1
    tags:
      Project: mensetsu
      Environment: dev
  no_log: true
  register: redis

- name: Rotate the AUTH token (this run only)
  elasticache_replication_group:
    replication_group_id: mensetsu-dev-redis
    auth_token: "{{ new_redis_auth_token }}"
    auth_token_update_strategy: rotate
  no_log: true

- name: Delete the replication group
  elasticache_replication_group:
    replication_group_id: mensetsu-dev-redis
    state: absent
"""

RETURN = r"""
arn:
  description: The group's ARN.
  returned: when the group exists
  type: str
  sample: arn:aws:elasticache:ap-northeast-1:123456789012:replicationgroup:mensetsu-dev-redis
status:
  description: The group's status (C(creating), C(available), C(modifying), C(deleting)).
  returned: when the group exists
  type: str
  sample: available
primary_endpoint:
  description: Where clients write (cluster mode disabled).
  returned: when the group exists
  type: dict
  contains:
    address:
      description: The host name.
      type: str
      sample: master.mensetsu-dev-redis.abcdef.apne1.cache.amazonaws.com
    port:
      description: The port.
      type: int
      sample: 6379
reader_endpoint:
  description: Where clients read from the replicas (cluster mode disabled); null when AWS gives none.
  returned: when the group exists
  type: dict
  sample: {"address": "replica.mensetsu-dev-redis.abcdef.apne1.cache.amazonaws.com", "port": 6379}
configuration_endpoint:
  description: The configuration endpoint (cluster mode enabled); null otherwise.
  returned: when the group exists
  type: dict
unverified_settings:
  description: Settings the task gives that could not be read back, so they were neither compared nor changed.
  returned: always
  type: list
  elements: str
  sample: [security_group_ids, preferred_maintenance_window]
replication_group:
  description: The group as DescribeReplicationGroups returns it, in snake case, with its C(tags).
  returned: always (empty when the group does not exist)
  type: dict
  sample:
    replication_group_id: mensetsu-dev-redis
    transit_encryption_enabled: true
    at_rest_encryption_enabled: true
    auth_token_enabled: true
    tags: {"Project": "mensetsu"}
"""

from typing import Any

try:
    import botocore
except ImportError:
    botocore = None  # AWSModule reports the missing dependency

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.parallel_reads import arn_to_be, early_read, read_in_parallel
from ansible.module_utils.polling import PollTimeout, poll_until
from ansible.module_utils.tag_sync import TagChanges, apply_tag_changes, plan_tag_changes
from ansible.module_utils.task_warnings import warn
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)

# Option name -> ModifyReplicationGroup parameter, for what can change in place.
MODIFIABLE = {
    "description": "ReplicationGroupDescription",
    "engine": "Engine",
    "engine_version": "EngineVersion",
    "cache_node_type": "CacheNodeType",
    "cache_parameter_group_name": "CacheParameterGroupName",
    "security_group_ids": "SecurityGroupIds",
    "automatic_failover": "AutomaticFailoverEnabled",
    "multi_az": "MultiAZEnabled",
    "snapshot_retention_limit": "SnapshotRetentionLimit",
    "snapshot_window": "SnapshotWindow",
    "preferred_maintenance_window": "PreferredMaintenanceWindow",
}
# Settings fixed at creation: a difference is reported, never "fixed" by deleting the cache.
CREATE_ONLY = (
    "transit_encryption_enabled",
    "at_rest_encryption_enabled",
    "cache_subnet_group_name",
    "port",
    "num_cache_clusters",
    "num_node_groups",
    "replicas_per_node_group",
)
BUSY_STATES = ("creating", "modifying", "snapshotting")


def describe_group(client, module: AWSModule, group_id: str) -> dict[str, Any] | None:
    try:
        groups = client.describe_replication_groups(aws_retry=True, ReplicationGroupId=group_id)["ReplicationGroups"]
    except is_boto3_error_code("ReplicationGroupNotFoundFault"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe replication group {group_id}")
    return groups[0] if groups else None


NOT_FOUND_MARK = "_not_found"


def read_group(client, module: AWSModule, group_id: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The group, and what could be read beside it (before its answer names them): with account_id,
    its tags by the ARN it has and its first member by the name AWS gives it (<id>-001). An early read
    that failed or guessed wrong is None or names another cluster: the caller reads it again from the
    group's answer."""
    account_id = module.params.get("account_id")
    reads: dict[str, Any] = {"group": lambda: describe_group(client, module, group_id)}
    if account_id:
        # ElastiCache keeps ids in lower case, in ARNs and member names too.
        arn = arn_to_be(client, "elasticache", account_id, f"replicationgroup:{group_id.lower()}")
        first = f"{group_id.lower()}-001"

        def first_member() -> dict[str, Any]:
            try:
                found = client.describe_cache_clusters(aws_retry=True, CacheClusterId=first)["CacheClusters"]
            except is_boto3_error_code("CacheClusterNotFound"):
                found = []
            # Not found is an answer too (the same request again would get it): marked, not None.
            return found[0] if found else {"CacheClusterId": first, NOT_FOUND_MARK: True}

        reads["member"] = early_read(first_member)
        reads["tags"] = early_read(
            lambda: boto3_tag_list_to_ansible_dict(
                client.list_tags_for_resource(aws_retry=True, ResourceName=arn)["TagList"]
            )
        )
    read = read_in_parallel(module, reads)
    group = read.pop("group")
    return group, read


def describe_member(client, module: AWSModule, group: dict[str, Any]) -> dict[str, Any] | None:
    """The first member cluster: AWS keeps security groups, version and windows there, not on the group."""
    members = group.get("MemberClusters") or []
    if not members:
        return None
    try:
        clusters = client.describe_cache_clusters(aws_retry=True, CacheClusterId=members[0])["CacheClusters"]
    except is_boto3_error_code("CacheClusterNotFound"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe cache cluster {members[0]}")
    return clusters[0] if clusters else None


def group_tags(client, module: AWSModule, arn: str) -> dict[str, str]:
    try:
        tag_list = client.list_tags_for_resource(aws_retry=True, ResourceName=arn)["TagList"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to list tags of {arn}")
    return boto3_tag_list_to_ansible_dict(tag_list)


def current_settings(group: dict[str, Any], member: dict[str, Any] | None) -> dict[str, Any]:
    """The group's settings under the module's option names; settings AWS did not report are left out.

    Pending modifications count as done, so a re-run during `modifying` does not send them again.
    """
    settings: dict[str, Any] = {
        "description": group.get("Description"),
        "engine": group.get("Engine"),
        "cache_node_type": group.get("CacheNodeType"),
        "automatic_failover": group.get("AutomaticFailover") in ("enabled", "enabling"),
        "multi_az": group.get("MultiAZ") == "enabled",
        "snapshot_retention_limit": group.get("SnapshotRetentionLimit", 0),
        "snapshot_window": group.get("SnapshotWindow"),
        "transit_encryption_enabled": bool(group.get("TransitEncryptionEnabled")),
        "at_rest_encryption_enabled": bool(group.get("AtRestEncryptionEnabled")),
    }
    pending_failover = (group.get("PendingModifiedValues") or {}).get("AutomaticFailoverStatus")
    if pending_failover:
        settings["automatic_failover"] = pending_failover == "enabled"
    node_groups = group.get("NodeGroups") or []
    if group.get("ClusterEnabled"):
        settings["num_node_groups"] = len(node_groups)
        if node_groups:
            settings["replicas_per_node_group"] = len(node_groups[0].get("NodeGroupMembers") or []) - 1
    else:
        settings["num_cache_clusters"] = len(group.get("MemberClusters") or [])
    endpoint = (node_groups[0].get("PrimaryEndpoint") if node_groups else None) or group.get("ConfigurationEndpoint")
    if endpoint and endpoint.get("Port"):
        settings["port"] = endpoint["Port"]
    if member:
        pending = member.get("PendingModifiedValues") or {}
        settings["engine_version"] = pending.get("EngineVersion") or member.get("EngineVersion")
        settings["cache_node_type"] = pending.get("CacheNodeType") or settings["cache_node_type"]
        settings["security_group_ids"] = sorted(sg["SecurityGroupId"] for sg in member.get("SecurityGroups") or [])
        settings["preferred_maintenance_window"] = member.get("PreferredMaintenanceWindow")
        settings["cache_subnet_group_name"] = member.get("CacheSubnetGroupName")
        settings["cache_parameter_group_name"] = (member.get("CacheParameterGroup") or {}).get(
            "CacheParameterGroupName"
        )
    return {key: value for key, value in settings.items() if value is not None}


def version_parts(version: str) -> list[int]:
    """7.1.0 -> [7, 1, 0]; a trailing .x or non-numeric part ends the version (6.x -> [6])."""
    parts = []
    for part in str(version).split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return parts


def version_satisfies(current: str, desired: str) -> bool:
    """Compare as AWS does: the running version satisfies the task's when it has the same major version and
    is the same or newer. A major-only or major.minor wish (7, 7.1) matches every newer patch or minor that
    AWS's automatic minor upgrades install; asking AWS to go back to an older minor is refused by AWS."""
    have, want = version_parts(current), version_parts(desired)
    if not have or not want:
        return str(current) == str(desired)
    return have[0] == want[0] and have[: len(want)] >= want


def same_value(option: str, current: Any, desired: Any) -> bool:
    if option == "engine_version":
        return version_satisfies(current, desired)
    if option == "security_group_ids":
        return sorted(current) == sorted(desired)
    if option in ("preferred_maintenance_window", "snapshot_window"):
        return str(current).lower() == str(desired).lower()
    return current == desired


def desired_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The settings the task gives (an option left unset leaves that setting alone)."""
    names = list(MODIFIABLE) + list(CREATE_ONLY)
    return {name: params[name] for name in names if params.get(name) is not None}


def endpoint_dict(endpoint: dict[str, Any] | None) -> dict[str, Any] | None:
    if not endpoint or not endpoint.get("Address"):
        return None
    return {"address": endpoint["Address"], "port": endpoint.get("Port")}


def wait_for(client, module: AWSModule, group_id: str, done, what: str, timeout: int) -> dict[str, Any] | None:
    try:
        return poll_until(lambda: describe_group(client, module, group_id), done, timeout=timeout, interval=2.0)
    except PollTimeout as timeout_error:
        last = timeout_error.last
        status = last.get("Status") if last else "gone"
        module.fail_json(msg=f"Timed out after {timeout} s waiting for {group_id} to be {what} (status: {status})")
    return None


def wait_available(client, module: AWSModule, group_id: str) -> dict[str, Any] | None:
    return wait_for(
        client,
        module,
        group_id,
        lambda group: group is not None and group.get("Status") == "available",
        "available",
        module.params["wait_timeout"],
    )


def create_group(client, module: AWSModule, desired: dict[str, Any]) -> dict[str, Any] | None:
    params = module.params
    if not params.get("cache_node_type"):
        module.fail_json(msg="cache_node_type is required to create a replication group")
    if params.get("auth_token") and not params["transit_encryption_enabled"]:
        module.fail_json(msg="auth_token needs transit_encryption_enabled: true")
    if module.check_mode:
        return None
    request: dict[str, Any] = {
        "ReplicationGroupId": params["replication_group_id"],
        "ReplicationGroupDescription": params.get("description") or params["replication_group_id"],
        "Engine": params.get("engine") or "redis",
        "TransitEncryptionEnabled": params["transit_encryption_enabled"],
        "AtRestEncryptionEnabled": params["at_rest_encryption_enabled"],
    }
    create_names = {
        "engine_version": "EngineVersion",
        "cache_node_type": "CacheNodeType",
        "num_cache_clusters": "NumCacheClusters",
        "num_node_groups": "NumNodeGroups",
        "replicas_per_node_group": "ReplicasPerNodeGroup",
        "cache_subnet_group_name": "CacheSubnetGroupName",
        "cache_parameter_group_name": "CacheParameterGroupName",
        "security_group_ids": "SecurityGroupIds",
        "port": "Port",
        "automatic_failover": "AutomaticFailoverEnabled",
        "multi_az": "MultiAZEnabled",
        "snapshot_retention_limit": "SnapshotRetentionLimit",
        "snapshot_window": "SnapshotWindow",
        "preferred_maintenance_window": "PreferredMaintenanceWindow",
    }
    request.update({api: desired[option] for option, api in create_names.items() if option in desired})
    if params.get("auth_token"):
        request["AuthToken"] = params["auth_token"]
    if params.get("tags"):
        request["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    try:
        group = client.create_replication_group(aws_retry=True, **request)["ReplicationGroup"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to create replication group {params['replication_group_id']}")
    if params["wait"]:
        group = wait_available(client, module, params["replication_group_id"])
    return group


def plan_modifications(
    module: AWSModule, current: dict[str, Any], desired: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """What ModifyReplicationGroup must change, and which given settings could not be read back."""
    changes: dict[str, Any] = {}
    unverified: list[str] = []
    for option in MODIFIABLE:
        if option not in desired:
            continue
        if option not in current:
            unverified.append(option)
        elif not same_value(option, current[option], desired[option]):
            changes[option] = desired[option]
    for option in CREATE_ONLY:
        if option not in desired:
            continue
        if option not in current:
            unverified.append(option)
        elif current[option] != desired[option]:
            warn(
                module,
                f"{option} is {current[option]!r} on the existing replication group, the task asks for "
                f"{desired[option]!r}; it cannot be changed in place and was left alone",
            )
    return changes, unverified


def modify_group(
    client, module: AWSModule, group: dict[str, Any], changes: dict[str, Any], rotate_token: bool
) -> dict[str, Any]:
    """Send one ModifyReplicationGroup for `changes` (and the AUTH token when asked); honour check mode."""
    if not changes and not rotate_token:
        return group
    if module.check_mode:
        return group
    params = module.params
    group_id = params["replication_group_id"]
    request: dict[str, Any] = {"ReplicationGroupId": group_id, "ApplyImmediately": params["apply_immediately"]}
    request.update({MODIFIABLE[option]: value for option, value in changes.items()})
    if rotate_token:
        request["AuthTokenUpdateStrategy"] = params["auth_token_update_strategy"].upper()
        if params.get("auth_token"):
            request["AuthToken"] = params["auth_token"]
    try:
        group = client.modify_replication_group(aws_retry=True, **request)["ReplicationGroup"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to modify replication group {group_id}")
    return group


def sync_tags(client, module: AWSModule, arn: str, tags: TagChanges) -> bool:
    def add(to_set: dict[str, str]) -> None:
        client.add_tags_to_resource(aws_retry=True, ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(to_set))

    def remove(keys: list[str]) -> None:
        client.remove_tags_from_resource(aws_retry=True, ResourceName=arn, TagKeys=keys)

    try:
        return apply_tag_changes(tags, module.check_mode, add, remove)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to update the tags of {arn}")
    return False


def result_of(group: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
    if not group:
        return {"replication_group": {}}
    node_groups = group.get("NodeGroups") or []
    first = node_groups[0] if node_groups else {}
    described = camel_dict_to_snake_dict(group)
    described["tags"] = tags
    return {
        "replication_group": described,
        "arn": group.get("ARN"),
        "status": group.get("Status"),
        "primary_endpoint": endpoint_dict(first.get("PrimaryEndpoint")),
        "reader_endpoint": endpoint_dict(first.get("ReaderEndpoint")),
        "configuration_endpoint": endpoint_dict(group.get("ConfigurationEndpoint")),
    }


def ensure_present(client, module: AWSModule) -> None:
    params = module.params
    group_id = params["replication_group_id"]
    desired = desired_settings(params)
    wanted_tags = params.get("tags")
    group, early = read_group(client, module, group_id)
    if group and group.get("Status") == "deleting":
        module.fail_json(msg=f"Replication group {group_id} is being deleted; re-run once it is gone")

    if group is None:
        after = dict(desired, tags=wanted_tags or {}, auth_token_enabled=bool(params.get("auth_token")))
        group = create_group(client, module, desired)
        tags = group_tags(client, module, group["ARN"]) if group else dict(wanted_tags or {})
        module.exit_json(
            changed=True,
            diff={"before": {}, "after": after},
            unverified_settings=[],
            **result_of(group, tags),
        )

    # What the early reads missed (no account_id, a member of another name, an error), side by side:
    # both need only the group's answer.
    members = group.get("MemberClusters") or []
    read = dict(early)
    if not (members and read.get("member") and read["member"].get("CacheClusterId") == members[0]):
        read.pop("member", None)
    elif read["member"].get(NOT_FOUND_MARK):
        read["member"] = None
    if read.get("tags") is None:
        read.pop("tags", None)
    missing = {
        "member": lambda: describe_member(client, module, group),
        "tags": lambda: group_tags(client, module, group["ARN"]),
    }
    read.update(read_in_parallel(module, {key: call for key, call in missing.items() if key not in read}))
    current = current_settings(group, read["member"])
    changes, unverified = plan_modifications(module, current, desired)
    strategy = params.get("auth_token_update_strategy")
    if strategy and strategy != "delete" and not params.get("auth_token"):
        module.fail_json(msg=f"auth_token_update_strategy={strategy} needs auth_token")
    if params.get("auth_token") and not strategy and not group.get("AuthTokenEnabled"):
        warn(
            module,
            f"{group_id} has no AUTH token and auth_token is only sent on creation; "
            "set auth_token_update_strategy: rotate to add it",
        )
    tag_changes = plan_tag_changes(read["tags"], wanted_tags, params["purge_tags"])

    if params["wait"] and group.get("Status") in BUSY_STATES and not module.check_mode:
        group = wait_available(client, module, group_id) or group
    group = modify_group(client, module, group, changes, rotate_token=bool(strategy))
    tags_changed = sync_tags(client, module, group["ARN"], tag_changes)
    changed = bool(changes) or bool(strategy) or tags_changed
    if changed and not module.check_mode and params["wait"]:
        group = wait_available(client, module, group_id) or group

    before = dict(current, tags=tag_changes.current, auth_token_enabled=bool(group.get("AuthTokenEnabled")))
    after = dict(before, **changes, tags=tag_changes.after)
    if strategy:
        after["auth_token_enabled"] = strategy != "delete"
        after["auth_token"] = f"({strategy})"
    module.exit_json(
        changed=changed,
        diff={"before": before, "after": after},
        unverified_settings=sorted(unverified),
        **result_of(group, tag_changes.after if not module.check_mode else tag_changes.current),
    )


def ensure_absent(client, module: AWSModule) -> None:
    params = module.params
    group_id = params["replication_group_id"]
    group = describe_group(client, module, group_id)
    if group is None:
        module.exit_json(changed=False, diff={"before": {}, "after": {}}, unverified_settings=[], replication_group={})
    tags = group_tags(client, module, group["ARN"])
    before = {"replication_group_id": group_id, "status": group.get("Status")}
    changed = group.get("Status") != "deleting"
    if changed and not module.check_mode:
        request: dict[str, Any] = {"ReplicationGroupId": group_id, "RetainPrimaryCluster": False}
        if params.get("final_snapshot_identifier"):
            request["FinalSnapshotIdentifier"] = params["final_snapshot_identifier"]
        try:
            group = client.delete_replication_group(aws_retry=True, **request)["ReplicationGroup"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Failed to delete replication group {group_id}")
    if params["wait"] and not module.check_mode:
        wait_for(client, module, group_id, lambda found: found is None, "deleted", params["wait_timeout"])
        group = None
    module.exit_json(
        changed=changed, diff={"before": before, "after": {}}, unverified_settings=[], **result_of(group, tags)
    )


def main() -> None:
    argument_spec = dict(
        replication_group_id=dict(type="str", required=True, aliases=["name"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        engine=dict(type="str", choices=["redis", "valkey"]),
        engine_version=dict(type="str"),
        cache_node_type=dict(type="str"),
        num_cache_clusters=dict(type="int"),
        num_node_groups=dict(type="int"),
        replicas_per_node_group=dict(type="int"),
        cache_subnet_group_name=dict(type="str"),
        cache_parameter_group_name=dict(type="str"),
        security_group_ids=dict(type="list", elements="str"),
        port=dict(type="int"),
        transit_encryption_enabled=dict(type="bool", default=True),
        at_rest_encryption_enabled=dict(type="bool", default=True),
        auth_token=dict(type="str", no_log=True),
        auth_token_update_strategy=dict(type="str", choices=["set", "rotate", "delete"], no_log=False),
        automatic_failover=dict(type="bool"),
        multi_az=dict(type="bool"),
        snapshot_retention_limit=dict(type="int"),
        snapshot_window=dict(type="str"),
        preferred_maintenance_window=dict(type="str"),
        apply_immediately=dict(type="bool", default=True),
        final_snapshot_identifier=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        account_id=dict(type="str"),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("num_cache_clusters", "num_node_groups")],
    )
    client = module.client("elasticache", retry_decorator=AWSRetry.jittered_backoff())
    if module.params["state"] == "present":
        ensure_present(client, module)
    else:
        ensure_absent(client, module)


if __name__ == "__main__":
    main()
