"""One setting, one name, one declaration (issue 17 item 3).

Every input is declared with its type, default and description: a role's in its
meta/argument_specs.yml, an environment-wide setting (read by several roles, playbooks or
scripts) in playbooks/vars/settings_spec.yml. `ansible-doc -t role` renders every role from
those specs.

Defaults: Ansible takes a role variable's value only from defaults/main.yml; an argument spec's
`default` is documentation (ansible-doc shows it, the role's validation never applies it). So
defaults/main.yml stays the one source of each value and the spec's `default` must be an exact
copy of it (templates included), which the tests below enforce.

No pytest fixture, no emulator: ansible-doc once for all roles (about 3 s), the rest reads YAML.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.plugins.filter.core import FilterModule
from jinja2 import Environment, meta

REPO = Path(__file__).resolve().parent.parent
ROLES = sorted(path.parent.parent.name for path in (REPO / "roles").glob("*/meta/argument_specs.yml"))
SETTINGS_SPEC = REPO / "playbooks" / "vars" / "settings_spec.yml"
# Names Ansible itself defines, which a role's defaults may read, and the facts roles document as
# their results: <role>_outputs, and the python role's interpreter (its argument spec says so).
ANSIBLE_NAMES = {"groups", "hostvars", "inventory_dir", "inventory_hostname", "ansible_host", "omit", "lookup", "now"}
ROLE_FACTS = {"python_executable"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) or {}


def role_specs(role: str) -> dict[str, dict[str, Any]]:
    """Entry point -> its options."""
    specs = load(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    return {entry: spec.get("options") or {} for entry, spec in specs.items()}


def role_defaults(role: str) -> dict[str, Any]:
    path = REPO / "roles" / role / "defaults" / "main.yml"
    return load(path) if path.exists() else {}


def settings_spec() -> dict[str, dict[str, Any]]:
    return load(SETTINGS_SPEC)["settings_spec"]


def declarations() -> Counter[str]:
    """How many places declare each name: each group of the settings spec, each role (all of
    its entry points together count once)."""
    counts: Counter[str] = Counter()
    for options in settings_spec().values():
        counts.update(list(options))
    for role in ROLES:
        counts.update({name for options in role_specs(role).values() for name in options})
    return counts


def inventory_settings() -> dict[str, list[str]]:
    """Every variable an inventory or the shared group_vars set -> the files that set it."""
    files = [
        *sorted((REPO / "inventories").glob("*/group_vars/**/*.yml")),
        *sorted((REPO / "group_vars").glob("**/*.yml")),
    ]
    found: dict[str, list[str]] = {}
    for path in files:
        for name in load(path):
            found.setdefault(name, []).append(str(path.relative_to(REPO)))
    return found


def referenced_names(value: Any, environment: Environment) -> set[str]:
    if isinstance(value, str):
        return set(meta.find_undeclared_variables(environment.parse(value))) if "{{" in value else set()
    if isinstance(value, dict):
        return set().union(*(referenced_names(item, environment) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(referenced_names(item, environment) for item in value))
    return set()


def test_ansible_doc_renders_every_role_with_every_option_described() -> None:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "PYTHONWARNINGS": "ignore"}
    ansible_doc = REPO / ".venv" / "bin" / "ansible-doc"
    result = subprocess.run(
        [str(ansible_doc), "-t", "role", "-r", "roles", "--json", *ROLES],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr and "WARNING" not in result.stderr, result.stderr
    rendered = json.loads(result.stdout)
    assert sorted(rendered) == ROLES
    undescribed = [
        f"{role} {entry} {name}"
        for role, doc in rendered.items()
        for entry, spec in doc["entry_points"].items()
        for name, option in (spec.get("options") or {}).items()
        if not option.get("description")
    ]
    assert undescribed == [], f"options without a description: {undescribed}"
    for role, doc in rendered.items():
        for entry, spec in doc["entry_points"].items():
            assert spec.get("short_description"), f"{role} entry point {entry} has no short_description"


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_declared_with_the_same_value(role: str) -> None:
    defaults = role_defaults(role)
    entries = role_specs(role)
    undeclared = sorted(set(defaults) - set(entries["main"]))
    assert undeclared == [], f"roles/{role}/defaults/main.yml sets what meta/argument_specs.yml (main) does not declare"
    for entry, options in entries.items():
        for name, option in options.items():
            where = f"roles/{role}/meta/argument_specs.yml {entry}.{name}"
            if name in defaults:
                assert "default" in option, f"{where}: no default (defaults/main.yml has {defaults[name]!r})"
                assert option["default"] == defaults[name], f"{where}: {option['default']!r} != {defaults[name]!r}"
                assert not option.get("required"), f"{where}: required, yet defaults/main.yml gives it a value"
            else:
                assert option.get("default") is None, f"{where}: a default that defaults/main.yml does not set"


def test_every_setting_is_declared_exactly_once() -> None:
    counts = declarations()
    settings = inventory_settings()
    undeclared = {
        name: files for name, files in settings.items() if counts[name] == 0 and not name.startswith("ansible_")
    }
    assert undeclared == {}, "set in the inventories but declared in no argument spec nor settings_spec.yml"
    twice = sorted(name for name, count in counts.items() if count > 1)
    assert twice == [], "declared in more than one place (settings_spec.yml groups and roles' argument specs)"


@pytest.mark.parametrize("role", ROLES)
def test_defaults_read_only_declared_names(role: str) -> None:
    """A role's default reads another name only when that name is declared: an undeclared
    `x | default(...)` is a second, hidden name for the role's own setting."""
    counts = declarations()
    environment = Environment()
    environment.filters.update(FilterModule().filters())  # Ansible's own (combine...), for the parse
    unknown = {
        name: sorted(
            used
            for used in referenced_names(value, environment)
            if counts[used] == 0 and used not in ANSIBLE_NAMES | ROLE_FACTS and not used.endswith("_outputs")
        )
        for name, value in role_defaults(role).items()
    }
    assert {name: used for name, used in unknown.items() if used} == {}
