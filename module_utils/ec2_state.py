"""The comparison and the tag writes the EC2 batch modules share (library/ec2_vpc_network,
ec2_vpc_routing, ec2_vpc_subnets, ec2_security_groups; library/iam_roles uses the comparison): one
function decides what differs, and the write path sends exactly that. Also the one read of a VPC's
subnets (library/ec2_subnet_zones reads them, library/ec2_vpc_subnets compares them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def differences(
    declared: dict[str, Any],
    actual: dict[str, Any] | None,
    same: Callable[[str, Any, Any], bool] | None = None,
) -> dict[str, Any]:
    """The diff that decides every write: {} when the resource is as declared, all of the declaration
    for a missing one (actual None), else only the settings that differ (before: actual, after: declared).
    `same(key, declared value, actual value)` compares where equality is not enough (a policy document)."""
    if actual is None:
        return {"before": {}, "after": declared}
    compare = same or (lambda _key, declared_value, actual_value: declared_value == actual_value)
    differ = [key for key, value in declared.items() if not compare(key, value, actual.get(key))]
    if not differ:
        return {}
    return {"before": {key: actual[key] for key in differ}, "after": {key: declared[key] for key in differ}}


def result_entry(
    results: list[dict[str, Any]], resource: str, kind: str, diff: dict[str, Any], existed: bool, name: str
) -> dict[str, Any]:
    """One resource's result of a module that manages several (appended to ``results``): its kind for
    the drift report (``drift_kind``, a collection module's name), ``changed``, ``action`` and ``diff``."""
    entry = {"resource": resource, "label": f"{resource} {name}", "drift_kind": kind, "changed": bool(diff)}
    entry["action"] = "unchanged" if not diff else "updated" if existed else "created"
    if diff:
        entry["diff"] = diff
    results.append(entry)
    return entry


def results_diff(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The module's whole diff: each changed result's before and after under its label."""
    changed = [entry for entry in results if entry["changed"]]
    return {
        "before": {entry["label"]: entry["diff"]["before"] for entry in changed},
        "after": {entry["label"]: entry["diff"]["after"] for entry in changed},
    }


def ec2_tags(resource: dict[str, Any] | None) -> dict[str, str]:
    """An EC2 Describe answer's Tags as a dict, without AWS's own aws:* tags (no caller can change them)."""
    return {t["Key"]: t["Value"] for t in (resource or {}).get("Tags") or [] if not t["Key"].startswith("aws:")}


def tag_specifications(resource_type: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    """TagSpecifications of a Create request (none for no tags)."""
    if not tags:
        return []
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}]


def write_ec2_tags(client: Any, resource_id: str, declared: dict[str, str], actual: dict[str, str]) -> None:
    """Make the resource's tags exactly the declared ones: CreateTags for the new or changed values,
    DeleteTags for the others (actual is ec2_tags' view, so aws:* tags are never touched)."""
    changed = {key: value for key, value in declared.items() if actual.get(key) != value}
    if changed:
        tags = [{"Key": key, "Value": value} for key, value in sorted(changed.items())]
        client.create_tags(aws_retry=True, Resources=[resource_id], Tags=tags)
    extra = sorted(key for key in actual if key not in declared)
    if extra:
        client.delete_tags(aws_retry=True, Resources=[resource_id], Tags=[{"Key": key} for key in extra])


def vpc_subnets(client: Any, vpc_id: str) -> list[dict[str, Any]]:
    """Every subnet of the VPC as DescribeSubnets answers (tags included), page after page, each request
    through the module's retrying client (`aws_retry`)."""
    subnets: list[dict[str, Any]] = []
    request: dict[str, Any] = {"Filters": [{"Name": "vpc-id", "Values": [vpc_id]}]}
    while True:
        answer = client.describe_subnets(aws_retry=True, **request)
        subnets += answer.get("Subnets", [])
        if not answer.get("NextToken"):
            return subnets
        request["NextToken"] = answer["NextToken"]
