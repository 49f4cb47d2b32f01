"""Compare the part of an AWS configuration that a module manages with what the API returns.

A module builds the configuration it wants (nested dicts and lists, in the API's CamelCase) and
compares it with what a Get* call returned. Only the keys present in the desired configuration
are compared: whatever the service fills in by default stays out of the comparison. A key that
is absent from the returned configuration is not comparable (an emulator that drops a field must
not cause an update on every run); a key that is present with another value is a difference.
"""

from __future__ import annotations

import copy
from typing import Any

# How the members of a list of dicts are identified, so that order does not matter.
LIST_IDENTITY_KEYS = ("Id", "ErrorCode", "Key", "PathPattern")


def _identity(item: Any) -> Any:
    if isinstance(item, dict):
        for key in LIST_IDENTITY_KEYS:
            if key in item:
                return (0, str(item[key]))
        return (1, repr(sorted(item.items(), key=lambda pair: pair[0])))
    return (2, str(item))


def _normalized_list(items: list) -> list:
    return sorted(items, key=_identity)


def _paired_items(desired: list, current: list) -> list[tuple[Any, Any]] | None:
    """Pair the members of two lists by identity; None when the lists do not hold the same members."""
    if len(desired) != len(current):
        return None
    if all(isinstance(item, dict) for item in desired + current):
        current_by_id = {_identity(item): item for item in current}
        pairs = []
        for item in desired:
            match = current_by_id.get(_identity(item))
            if match is None:
                return None
            pairs.append((item, match))
        return pairs
    return list(zip(_normalized_list(desired), _normalized_list(current), strict=True))


def _scalars_equal(desired: Any, current: Any) -> bool:
    if isinstance(desired, bool) or isinstance(current, bool):
        return desired is current or desired == current
    if isinstance(desired, int | float) and isinstance(current, str | int | float):
        return str(desired) == str(current)
    if isinstance(current, int | float) and isinstance(desired, str):
        return str(desired) == str(current)
    return desired == current


def config_differences(desired: Any, current: Any, path: str = "") -> dict[str, tuple[Any, Any]]:
    """Return {"Dotted.Path": (current_value, desired_value)} for every managed field that differs.

    A list is compared as a whole (its members matched by identity, order ignored); a member
    that is a dict is compared only on the keys the desired member sets.
    """
    differences: dict[str, tuple[Any, Any]] = {}
    if isinstance(desired, dict):
        if not isinstance(current, dict):
            return {path: (current, desired)}
        for key, value in desired.items():
            if key not in current:
                continue  # not comparable: the service did not return it
            child = f"{path}.{key}" if path else key
            differences.update(config_differences(value, current[key], child))
        return differences
    if isinstance(desired, list):
        if not isinstance(current, list):
            return {path: (current, desired)}
        pairs = _paired_items(desired, current)
        if pairs is None:
            return {path: (current, desired)}
        for want, have in pairs:
            if config_differences(want, have, path):
                return {path: (current, desired)}
        return differences
    if not _scalars_equal(desired, current):
        differences[path] = (current, desired)
    return differences


def merge_config(current: dict, desired: dict) -> dict:
    """Return `current` with every key that `desired` sets replaced, nested dicts merged.

    Lists of dicts whose members carry an "Id" are merged member by member (a member of
    `current` with the same Id keeps the keys that `desired` does not set); other lists are
    replaced as a whole.
    """
    merged = copy.deepcopy(current)
    for key, value in desired.items():
        existing = merged.get(key)
        if isinstance(value, dict) and isinstance(existing, dict):
            merged[key] = merge_config(existing, value)
        elif isinstance(value, list) and isinstance(existing, list) and value and isinstance(value[0], dict):
            by_id = {item.get("Id"): item for item in existing if isinstance(item, dict) and "Id" in item}
            merged[key] = [
                merge_config(by_id[item["Id"]], item) if item.get("Id") in by_id else copy.deepcopy(item)
                for item in value
            ]
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def differences_diff(differences: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    """An Ansible `diff` (before/after) that shows only the fields that differ."""
    return {
        "before": {path: before for path, (before, _after) in sorted(differences.items())},
        "after": {path: after for path, (_before, after) in sorted(differences.items())},
    }
