"""execution-environment.yml: `ansible-builder create` writes a build context with the repository's pins.

Building the image needs a container engine and is not done here; the context is what AWX's
image build would consume, so its requirements must be exactly the ones the tests ran with.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
# What the playbooks need on the controller, besides the collections.
RUNTIME_PACKAGES = {"ansible-core", "boto3", "botocore", "netaddr"}
# Test and emulator tools: never in the EE.
TEST_ONLY_PACKAGES = {"moto", "pytest", "pytest-xdist", "pytest-testinfra", "molecule", "ansible-lint", "ruff"}


def pins(lines: list[str]) -> dict[str, str]:
    """{canonical name: version} of every `name==version` line; other specifiers are refused."""
    found: dict[str, str] = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"not pinned exactly: {line}"
        found[canonicalize_name(requirement.name)] = specifiers[0].version
    return found


def repository_pins() -> dict[str, str]:
    return pins((REPO / "requirements.txt").read_text().splitlines())


def builder_environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Where `python -m ansible_builder` works: the venv's, else a scratch install; else skip."""
    if importlib.util.find_spec("ansible_builder") is not None:
        return dict(os.environ)
    pin = repository_pins().get("ansible-builder")
    target = tmp_path_factory.mktemp("ansible-builder")
    spec = f"ansible-builder=={pin}" if pin else "ansible-builder"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), spec],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if install.returncode != 0:
        pytest.skip(f"ansible-builder cannot be installed ({spec}): {install.stderr.strip()[-300:]}; run `make venv`")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")])))


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = builder_environment(tmp_path_factory)
    directory = tmp_path_factory.mktemp("ee") / "context"
    create = ["create", "--file", "execution-environment.yml", "--context", str(directory)]
    result = subprocess.run(
        [sys.executable, "-m", "ansible_builder", *create, "--output-filename", "Containerfile"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return directory


def containerfile_arg(context: Path, name: str) -> str:
    match = re.search(rf'^ARG {name}="([^"]*)"$', (context / "Containerfile").read_text(), re.MULTILINE)
    assert match, f"ARG {name} missing from the Containerfile"
    return match.group(1)


def test_the_context_is_a_complete_build(context: Path) -> None:
    containerfile = (context / "Containerfile").read_text()
    definition = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    assert containerfile_arg(context, "EE_BASE_IMAGE") == definition["images"]["base_image"]["name"]
    for stage in ("AS base", "AS galaxy", "AS builder", "AS final"):
        assert stage in containerfile
    for name in ("requirements.yml", "requirements.txt", "bindep.txt", "scripts/assemble", "scripts/entrypoint"):
        assert (context / "_build" / name).is_file(), name


def test_the_collections_are_requirements_yml(context: Path) -> None:
    def versions(path: Path) -> dict[str, str]:
        return {item["name"]: str(item["version"]) for item in yaml.safe_load(path.read_text())["collections"]}

    assert versions(context / "_build" / "requirements.yml") == versions(REPO / "requirements.yml")


def test_the_collections_are_those_the_tests_run_with() -> None:
    """requirements.yml pins what the pinned ansible bundle ships: the EE runs what `make test` ran."""
    collections_root = Path(importlib.util.find_spec("ansible_collections").submodule_search_locations[0])
    for item in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]:
        namespace, name = item["name"].split(".")
        manifest = json.loads((collections_root / namespace / name / "MANIFEST.json").read_text())
        assert manifest["collection_info"]["version"] == str(item["version"]), item["name"]


def runtime_packages() -> set[str]:
    """RUNTIME_PACKAGES, plus mitogen once ansible.cfg runs its strategy (the EE must carry it too)."""
    uses_mitogen = "mitogen" in (REPO / "ansible.cfg").read_text()
    return RUNTIME_PACKAGES | ({"mitogen"} if uses_mitogen else set())


def test_ansible_core_and_python_packages_are_the_repository_pins(context: Path) -> None:
    wanted = repository_pins()
    ee_python = pins((context / "_build" / "requirements.txt").read_text().splitlines())
    installed_first = pins(containerfile_arg(context, "ANSIBLE_INSTALL_REFS").split())
    everything = {**ee_python, **installed_first}
    assert set(everything) >= runtime_packages()
    for name, version in everything.items():
        if name in wanted:
            assert version == wanted[name], f"{name}: EE {version}, requirements.txt {wanted[name]}"
    assert not set(everything) & TEST_ONLY_PACKAGES
    assert "ansible-runner" in installed_first


def test_the_ssh_client_is_installed_for_the_app_hosts(context: Path) -> None:
    bindep = (context / "_build" / "bindep.txt").read_text().splitlines()
    assert "openssh-clients [platform:rpm]" in bindep


def test_the_interpreter_is_the_one_ansible_core_needs(context: Path) -> None:
    python = containerfile_arg(context, "PYCMD")
    match = re.fullmatch(r"/usr/bin/python3\.(\d+)", python)
    assert match and int(match.group(1)) >= 11, f"ansible-core 2.19 needs Python 3.11+ on the controller, not {python}"
    assert containerfile_arg(context, "PYPKG") == f"python3.{match.group(1)}"
