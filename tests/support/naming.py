"""Resource names as group_vars/all/platform.yml defines them, for tests and scripts.

The bucket names carry the account id (bucket names are global across AWS accounts). Rather than
repeating the pattern, this renders platform.yml's own definitions.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "group_vars" / "all" / "platform.yml"
MOTO_ACCOUNT = "123456789012"  # the emulator's account (inventories/local: expected_account_id)


@cache
def _platform() -> dict:
    return yaml.safe_load(PLATFORM.read_text())


def platform_name(variable: str, name_prefix: str, account_id: str = MOTO_ACCOUNT) -> str:
    """platform.yml's `variable` (a name template) for a name prefix (<project>-<env>) and an account."""
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(_platform()[variable])
    return template.render(name_prefix=name_prefix, aws_account_id=account_id)


def static_bucket(name_prefix: str, account_id: str = MOTO_ACCOUNT) -> str:
    return platform_name("static_bucket_name", name_prefix, account_id)


def media_bucket(name_prefix: str, account_id: str = MOTO_ACCOUNT) -> str:
    return platform_name("media_bucket_name", name_prefix, account_id)
