"""CloudFront look-ups and tagging calls shared by the library's CloudFront modules.

Every call goes through a client made with `module.client(..., retry_decorator=...)`, so each
helper passes `aws_retry=True` (a paginated walk is retried as a whole); errors are left to
the caller's `fail_json_aws`. What to tag is planned by module_utils/tag_sync.py.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)


@AWSRetry.jittered_backoff()
def _paginate(client: Any, method: str, list_key: str) -> list[dict[str, Any]]:
    """Every item of a paginated CloudFront list call (paginators take no aws_retry)."""
    items = []
    for page in client.get_paginator(method).paginate():
        items.extend(page.get(list_key, {}).get("Items") or [])
    return items


def find_origin_access_controls(client: Any, name: str) -> list[dict[str, Any]]:
    """The summaries of every origin access control called `name` (AWS keeps names unique)."""
    items = _paginate(client, "list_origin_access_controls", "OriginAccessControlList")
    return [item for item in items if item.get("Name") == name]


def list_distribution_summaries(client: Any) -> list[dict[str, Any]]:
    return _paginate(client, "list_distributions", "DistributionList")


def resource_tags(client: Any, arn: str) -> dict[str, str]:
    response = client.list_tags_for_resource(Resource=arn, aws_retry=True)
    return boto3_tag_list_to_ansible_dict(response.get("Tags", {}).get("Items") or [])


def tag_resource(client: Any, arn: str, tags: dict[str, str]) -> None:
    client.tag_resource(Resource=arn, Tags={"Items": ansible_dict_to_boto3_tag_list(tags)}, aws_retry=True)


def untag_resource(client: Any, arn: str, keys: list[str]) -> None:
    client.untag_resource(Resource=arn, TagKeys={"Items": sorted(keys)}, aws_retry=True)
