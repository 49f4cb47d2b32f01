"""Shared helpers of the read-only drift modules (library/aws_drift_*.py).

A drift module reads a resource, compares it with the declaration the task passes, and returns
one `differences` entry per attribute that differs (attribute, declared, actual), a `diff` that
shows only those attributes (before = actual, after = declared), and `changed` set when a
converge would change something. It never sends a mutating request, in check mode or not.
"""

from __future__ import annotations

import json
from typing import Any


def difference(attribute: str, declared: Any, actual: Any) -> dict[str, Any]:
    return {"attribute": attribute, "declared": declared, "actual": actual}


def drift_result(resource: str, differences: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The module result: changed when anything differs, with a diff of just those attributes."""
    return {
        "changed": bool(differences),
        "resource": resource,
        "differences": differences,
        "diff": {
            "before": {item["attribute"]: item["actual"] for item in differences},
            "after": {item["attribute"]: item["declared"] for item in differences},
        },
        **extra,
    }


def compare_scalars(declared: dict[str, Any], actual: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """One difference per key that the declaration sets (not None) and the actual state has otherwise."""
    found = []
    for key, value in declared.items():
        if value is None:
            continue
        have = actual.get(key)
        if not same_scalar(value, have):
            found.append(difference(f"{prefix}{key}", value, have))
    return found


def same_scalar(declared: Any, actual: Any) -> bool:
    """Equal values; numbers and their strings are equal (the APIs return "30" and 30 alike)."""
    if isinstance(declared, bool) or isinstance(actual, bool):
        return declared is actual
    return str(declared) == str(actual)


def canonical_json(document: Any) -> Any:
    """A JSON document (string or parsed) with its lists and keys in a stable order, for comparison."""
    if isinstance(document, str):
        document = json.loads(document) if document.strip() else None
    return _ordered(document)


def _ordered(document: Any) -> Any:
    if isinstance(document, dict):
        return {key: _ordered(value) for key, value in sorted(document.items())}
    if isinstance(document, list):
        items = [_ordered(item) for item in document]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return document


def same_json(declared: Any, actual: Any) -> bool:
    """Equal documents; a one-member list equals its member (AWS shortens ["x"] to "x")."""
    return _unwrap(canonical_json(declared)) == _unwrap(canonical_json(actual))


def _unwrap(document: Any) -> Any:
    if isinstance(document, dict):
        return {key: _unwrap(value) for key, value in document.items()}
    if isinstance(document, list):
        items = [_unwrap(item) for item in document]
        return items[0] if len(items) == 1 else items
    return document
