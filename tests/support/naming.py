"""Resource names as the naming map (group_vars/all/naming.yml) defines them.

Every AWS resource name is defined once, in that file; tests render its own templates for a name
prefix (<project>-<env>) rather than repeating a pattern. `names(prefix)["alb"]` is the load
balancer's name; the bucket names carry the account id (bucket names are global across accounts).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[2]
NAMING = REPO / "group_vars" / "all" / "naming.yml"
MOTO_ACCOUNT = "123456789012"  # the emulator's account (inventories/local: expected_account_id)


@cache
def naming_file() -> dict:
    return yaml.safe_load(NAMING.read_text())


def _render(value: Any, context: dict) -> Any:
    if isinstance(value, dict):
        return {key: _render(item, context) for key, item in value.items()}
    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(value).render(context)


def _context(name_prefix: str, account_id: str) -> dict:
    project, _, env = name_prefix.rpartition("-")
    return {"name_prefix": name_prefix, "aws_account_id": account_id, "project_name": project, "env_name": env}


def platform_name(variable: str, name_prefix: str, account_id: str = MOTO_ACCOUNT) -> str:
    """naming.yml's `variable` (a name template) for a name prefix (<project>-<env>) and an account."""
    return _render(naming_file()[variable], _context(name_prefix, account_id))


def names(name_prefix: str, aws_names: dict | None = None) -> dict:
    """The naming map (aws_names, or the one given) rendered for a name prefix."""
    return _render(aws_names or naming_file()["aws_names"], _context(name_prefix, MOTO_ACCOUNT))


def static_bucket(name_prefix: str, account_id: str = MOTO_ACCOUNT) -> str:
    return platform_name("static_bucket_name", name_prefix, account_id)


def media_bucket(name_prefix: str, account_id: str = MOTO_ACCOUNT) -> str:
    return platform_name("media_bucket_name", name_prefix, account_id)


def log_bucket(name_prefix: str, account_id: str = MOTO_ACCOUNT) -> str:
    return platform_name("log_bucket_name", name_prefix, account_id)
