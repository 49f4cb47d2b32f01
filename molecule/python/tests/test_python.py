"""Python 3.11 with venv and pip, from the distribution's packages."""

from __future__ import annotations

import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")


def test_python_is_3_11(host):
    assert host.check_output("python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'") == "3.11"


def test_python_comes_from_the_distribution(host):
    for package in ("python3", "python3-venv", "python3-pip"):
        assert host.package(package).is_installed, package


def test_a_virtual_environment_gets_pip(host):
    venv = "/tmp/molecule-venv"
    host.check_output(f"rm -rf {venv} && python3 -m venv {venv}")
    try:
        assert host.check_output(f"{venv}/bin/python -m pip --version").startswith("pip ")
        assert host.file(f"{venv}/bin/python").is_symlink
    finally:
        host.run(f"rm -rf {venv}")
