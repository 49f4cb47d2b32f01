"""Plan and apply tag changes the same way for every AWS service (check mode and diff aware).

AWS services spell their tagging calls differently (ElastiCache AddTagsToResource with a
ResourceName, ACM AddTagsToCertificate with a CertificateArn, ...). The module passes two
small callables that make those calls; this file decides what to send and when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags


@dataclass
class TagChanges:
    """What a tag update would do: keys to set (with their values) and keys to remove."""

    current: dict[str, str]
    to_set: dict[str, str] = field(default_factory=dict)
    to_remove: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.to_set or self.to_remove)

    @property
    def after(self) -> dict[str, str]:
        """The tags the resource carries once the changes are applied."""
        tags = {key: value for key, value in self.current.items() if key not in self.to_remove}
        tags.update(self.to_set)
        return tags


def plan_tag_changes(current: dict[str, str], desired: dict[str, str] | None, purge_tags: bool) -> TagChanges:
    """Compare the resource's tags with the task's; `desired=None` leaves the tags alone."""
    if desired is None:
        return TagChanges(current=dict(current))
    desired = {str(key): str(value) for key, value in desired.items()}
    to_set, to_remove = compare_aws_tags(current, desired, purge_tags=purge_tags)
    return TagChanges(current=dict(current), to_set=dict(to_set), to_remove=sorted(to_remove))


def apply_tag_changes(
    changes: TagChanges,
    check_mode: bool,
    add_tags: Callable[[dict[str, str]], None],
    remove_tags: Callable[[list[str]], None],
) -> bool:
    """Send the planned changes unless in check mode; return whether anything changes."""
    if not changes.changed:
        return False
    if check_mode:
        return True
    if changes.to_remove:
        remove_tags(changes.to_remove)
    if changes.to_set:
        add_tags(changes.to_set)
    return True
