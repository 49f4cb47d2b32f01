"""The repository's layout (docs/layout.md): Python code only in library/, module_utils/ and
plugins/<type>/, and the settings shared by every environment in the top-level group_vars/all/,
read through each inventory's links with the precedence group_vars/README.md states.

No AWS: a probe playbook prints variables (about 10 s in all)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("dev", "prod", "local")
SHARED = {"00_seed.yml": "seed.yml", "01_platform.yml": "platform.yml"}
# Identical in every inventory today, yet each environment's own choice: the operator sets them in
# inventories/<env>/group_vars/all/ (preflight names that file), so they stay there.
CHOSEN_PER_ENVIRONMENT = {
    "aws_region", "hosted_zone_id", "operator_email", "app_instance_count", "db_allocated_storage_gb", "db_multi_az",
}  # fmt: skip


def test_python_code_lives_only_where_the_layout_says() -> None:
    # Besides Ansible's code: tools, tests, the example app, and inventory scripts (an inventory source).
    allowed = ("library/", "module_utils/", "plugins/", "tests/", "scripts/", "bench/", "molecule/", "examples/")
    allowed += ("inventories/",)
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True)
    misplaced = [path for path in tracked.stdout.split() if not path.startswith(allowed)]
    assert misplaced == [], f"Python outside library/, module_utils/, plugins/<type>/: {misplaced}"
    role_private = sorted(
        str(path.relative_to(REPO))
        for path in (REPO / "roles").glob("*/*")
        if path.is_dir() and (path.name in ("library", "module_utils") or path.name.endswith("_plugins"))
    )
    assert role_private == [], f"role-private plugin folders: {role_private}"


def test_the_drift_callback_is_found_from_ansible_cfg_and_next_to_the_playbooks() -> None:
    """ansible.cfg names plugins/callback; playbooks/callback_plugins (what a runner that replaces
    ANSIBLE_CALLBACK_PLUGINS, AWX, still searches) is a link to the same directory, not a copy.
    tests/test_drift.py runs the playbook both ways."""
    adjacent = REPO / "playbooks" / "callback_plugins"
    assert adjacent.is_symlink() and adjacent.resolve() == REPO / "plugins" / "callback"
    assert "callback_plugins = ./plugins/callback" in (REPO / "ansible.cfg").read_text().splitlines()
    assert [path.name for path in (REPO / "plugins" / "callback").glob("*.py")] == ["drift_report.py"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_inventory_links_the_shared_files_first(env: str) -> None:
    folder = REPO / "inventories" / env / "group_vars" / "all"
    for link, target in SHARED.items():
        path = folder / link
        assert path.is_symlink(), f"{path} is not a link"
        assert path.resolve() == REPO / "group_vars" / "all" / target, f"{path} -> {os.readlink(path)}"
    own = sorted(path.name for path in folder.glob("*.yml") if not path.is_symlink())
    assert own and all(name > max(SHARED) for name in own), "an inventory's own files load after the links"


def test_inventories_hold_only_what_differs_per_environment() -> None:
    values: dict[str, dict[str, object]] = {}
    for env in ENVIRONMENTS:
        for path in (REPO / "inventories" / env / "group_vars" / "all").glob("*.yml"):
            if not path.is_symlink():
                for key, value in (yaml.safe_load(path.read_text()) or {}).items():
                    values.setdefault(key, {})[env] = value
    same = {
        key
        for key, per_env in values.items()
        if len(per_env) == len(ENVIRONMENTS) and len({json.dumps(value) for value in per_env.values()}) == 1
    }
    assert same - CHOSEN_PER_ENVIRONMENT == set(), f"the same in every inventory: move to group_vars/all/: {same}"
    shared = {}
    for target in SHARED.values():
        shared |= yaml.safe_load((REPO / "group_vars" / "all" / target).read_text())
    # Overriding a shared value is allowed (the inventory wins), but only where it differs.
    for key in set(shared) & set(values):
        assert any(json.dumps(value) != json.dumps(shared[key]) for value in values[key].values()), key


PROBE = """\
- name: Print the variables the layout test asks for
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Print them
      ansible.builtin.debug:
        msg: "LAYOUT|{{ aws_endpoint_url }}|{{ name_prefix }}|{{ internet_cidr }}|"
"""


def probe(where: Path, inventory: str, *extra: str) -> dict:
    """Run a probe playbook placed in `where` (the repository's root, next to site.yml and the
    top-level group_vars/, or playbooks/) and return the values it printed."""
    playbook = where / f".layout-probe-{os.getpid()}.yml"
    playbook.write_text(PROBE)
    try:
        env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_STRATEGY": "linear", "AWS_ENDPOINT_URL": ""}
        run = subprocess.run(
            [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", inventory, str(playbook), *extra],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        playbook.unlink()
    assert run.returncode == 0, run.stdout + run.stderr
    line = next(line for line in run.stdout.splitlines() if "LAYOUT|" in line)
    endpoint, prefix, internet = line.split("LAYOUT|", 1)[1].split("|")[:3]
    return {"endpoint": endpoint, "prefix": prefix, "internet": internet}


@pytest.mark.parametrize("where", ["", "playbooks"], ids=["next-to-site.yml", "in-playbooks"])
def test_the_shared_files_rank_below_the_inventory_and_above_nothing_else(where: str) -> None:
    """Shared value where the inventory sets none; the inventory's own value over the shared one,
    also for a playbook next to the top-level group_vars/ (ansible.cfg: stage = inventory); -e
    over both."""
    seen = probe(REPO / where, "inventories/local")
    assert seen == {"endpoint": "http://127.0.0.1:5055", "prefix": "mensetsu-local", "internet": "0.0.0.0/0"}
    assert probe(REPO / where, "inventories/dev")["endpoint"] == "", "group_vars/all/platform.yml: AWS itself"
    given = probe(REPO / where, "inventories/local", "-e", "aws_endpoint_url=http://192.0.2.1:1")
    assert given["endpoint"] == "http://192.0.2.1:1"
