"""Every AWS resource name is defined once: the naming map (group_vars/all/naming.yml).

One converge proves it: a copy of inventories/local whose naming map renames the load balancer (the
one place, overridden in the copy as an operator would in inventories/<env>/group_vars/all/) is
provisioned, drifts clean, is summarised by scripts/summary.py and is torn down, and at no point
does a resource under the old name appear. A role, playbook or script that still built the name
itself would create, look for or leave the old name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.drift import run_drift_playbook
from tests.support.moto import MotoServer, start_moto
from tests.support.naming import names, naming_file
from tests.support.playbook import REPO, run_playbook

pytestmark = pytest.mark.stack  # provisions, drifts, summarises and tears down a whole stack: not in make test-fast

PREFIX = "mensetsu-local"
RENAMED = "{{ name_prefix }}-edge-lb"


@pytest.fixture(scope="module")
def renamed_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """inventories/local, copied with its shared files resolved, and the map with one name changed."""
    root = tmp_path_factory.mktemp("renamed") / "inventories"
    inventory = root / "local"
    shutil.copytree(REPO / "inventories" / "local", inventory, symlinks=False)
    # The one place: the naming map, with the load balancer's entry changed (files of group_vars/all
    # load in name order, so this copy of the whole map replaces the shipped one).
    aws_names = dict(naming_file()["aws_names"], alb=RENAMED)
    (inventory / "group_vars" / "all" / "zz_renamed.yml").write_text(yaml.safe_dump({"aws_names": aws_names}))
    # inventory_dir-relative paths of the local inventory (the example app) resolve as in the repository.
    (root.parent / "examples").symlink_to(REPO / "examples")
    return inventory


@pytest.fixture(scope="module")
def stack(renamed_inventory: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = start_moto(workdir=tmp_path_factory.mktemp("moto-naming"))
    try:
        built = run_playbook("playbooks/provision.yml", str(renamed_inventory), env=server.env)
        assert built.returncode == 0, str(built)
        yield server
    finally:
        server.stop()


def balancers(server: MotoServer) -> list[str]:
    return [b["LoadBalancerName"] for b in server.client("elbv2").describe_load_balancers()["LoadBalancers"]]


def test_the_renamed_resource_is_provisioned_under_its_new_name_only(stack: MotoServer) -> None:
    renamed, shipped = names(PREFIX, {"alb": RENAMED})["alb"], names(PREFIX)["alb"]
    assert renamed != shipped
    assert balancers(stack) == [renamed]


def test_the_renamed_platform_drifts_clean(stack: MotoServer, renamed_inventory: Path, tmp_path: Path) -> None:
    run = run_drift_playbook(stack.env, tmp_path, inventory=str(renamed_inventory))
    assert run.returncode == 0, str(run)
    assert run.report["status"] == "clean", json.dumps(run.report.get("differences"), indent=1)[:3000]


def test_the_summary_finds_the_renamed_resource(stack: MotoServer, renamed_inventory: Path) -> None:
    summary = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "summary.py"), "-i", str(renamed_inventory)],
        cwd=REPO,
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = summary.stdout + summary.stderr
    assert summary.returncode == 0, output
    alb_row = next(line for line in output.splitlines() if line.startswith("| ALB "))
    assert names(PREFIX, {"alb": RENAMED})["alb"] in alb_row, alb_row
    assert "ALB" not in output.partition("!! Attention:")[2], output


def test_the_teardown_removes_the_renamed_resource(stack: MotoServer, renamed_inventory: Path) -> None:
    run = run_playbook(
        "playbooks/teardown.yml",
        str(renamed_inventory),
        env=stack.env,
        extra_vars={"teardown_confirm": "local", "teardown_lift_deletion_protection": True},
    )
    assert run.returncode == 0, str(run)
    assert balancers(stack) == []
