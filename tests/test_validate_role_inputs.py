"""Every role's inputs in one task (plugins/action/validate_role_inputs.py, issue 18).

Preflight checks each role's argument spec and rules with one task for all roles, and the entry
playbooks import those roles without ansible-core's second check of the same options
(`rolespec_validate: false`); a role run without that preflight still checks itself first. The
bad-input corpus (tests/test_bad_input.py) proves the messages and the stop before any request;
these tests prove what the corpus cannot see: the task counts, every failing role in one message,
the role's own check when ansible-core's is off, and the rules file's strict form.

Each test: one or two ansible-playbook runs, about 3-6 s (no stack).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.playbook import ANSIBLE_PLAYBOOK, REPO, first_failure, playbook_env, run_playbook

ROLES_TASK = "Check each role's own inputs before any role writes"
# The hosted zone's records: their inputs are the load balancer's and CloudFront's names, known only
# once those stages ran; preflight cannot check them, ansible-core checks them where they run.
CHECKED_WHERE_THEY_RUN = {"aws_dns : Validating arguments against arg spec 'records'"}


def listed_tasks(playbook: str) -> list[str]:
    completed = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), playbook, "-i", "inventories/local", "--list-tasks"],
        cwd=REPO,
        env=playbook_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.strip().split("\t")[0].strip() for line in completed.stdout.splitlines() if line.startswith("      ")]


@pytest.mark.parametrize("playbook", ["playbooks/provision.yml", "playbooks/drift.yml", "playbooks/publish_static.yml"])
def test_the_roles_preflight_checked_are_not_checked_again_per_role(playbook: str):
    tasks = listed_tasks(playbook)
    assert tasks.count(ROLES_TASK) == 1, tasks
    second_checks = {re.sub(r" - .*", "", task) for task in tasks if "Validating arguments against arg spec" in task}
    assert second_checks <= CHECKED_WHERE_THEY_RUN | {
        # drift.yml's app hosts: their own facts and variables, checked on each host.
        "fastapi_service : Validating arguments against arg spec 'main'",
        "base : Validating arguments against arg spec 'main'",
        "python : Validating arguments against arg spec 'main'",
    }, second_checks
    # No rule of a role's tasks/validate.yml is a task of the run: the one task above evaluates them.
    rules = {
        f"{path.parent.parent.name} : {task['name']}"
        for path in (REPO / "roles").glob("*/tasks/validate.yml")
        for task in yaml.safe_load(path.read_text())
    }
    assert rules & set(tasks) == set()


def preflight_for_provision(tmp_path: Path) -> str:
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(
        f"- name: Validate the environment's settings\n"
        f"  ansible.builtin.import_playbook: {REPO / 'playbooks/preflight.yml'}\n"
        f"  vars:\n    preflight_for: [provision]\n"
    )
    return str(playbook)


def test_every_failing_role_is_named_in_one_failure(aws, tmp_path: Path):
    bad = {"vpc_cidr": "10.0.0.0/8", "app_instance_type": "t3.humongous", "budget_monthly_usd": 150}
    with aws.recording_requests() as requests:
        result = run_playbook(preflight_for_provision(tmp_path), "inventories/local", env=aws.env, extra_vars=bad)
    assert result.returncode != 0, str(result)
    failure = first_failure(result.output)
    for message in (
        "aws_network: vpc_cidr: '10.0.0.0/8' must be an IPv4 network",
        "aws_compute: app_instance_type: 't3.humongous' is not a known instance type",
        "aws_budget: budget_reason: budget_monthly_usd (150) differs from the seed's table 4.5",
    ):
        assert message in failure, failure
    assert result.recap["localhost"]["failed"] == 1, str(result)
    assert requests == [], [str(r) for r in requests]


def test_a_value_that_cannot_be_rendered_is_named(aws, tmp_path: Path):
    bad = {"aws_iam_role_name": "{{ no_such_setting }}"}
    result = run_playbook(preflight_for_provision(tmp_path), "inventories/local", env=aws.env, extra_vars=bad)
    assert result.returncode != 0, str(result)
    assert "aws_iam: aws_iam_role_name: 'no_such_setting' is undefined" in first_failure(result.output), str(result)


def test_a_role_imported_without_ansible_s_check_and_without_preflight_checks_its_spec(aws, tmp_path: Path):
    """rolespec_validate: false never leaves a role unchecked: without this run's preflight, the
    role's first task checks its argument spec (and its rules) before any request."""
    playbook = tmp_path / "data.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  environment: '{{ aws_env }}'\n  tasks:\n"
        "    - ansible.builtin.import_role:\n        name: aws_data\n        rolespec_validate: false\n"
    )
    with aws.recording_requests() as requests:
        result = run_playbook(
            str(playbook), "inventories/local", env=aws.env, extra_vars={"aws_data_db_deletion_protection": "maybe"}
        )
    assert result.returncode != 0, str(result)
    assert "Validating arguments against arg spec" not in result.output, str(result)
    assert (
        "aws_data: Validation of arguments failed: argument 'aws_data_db_deletion_protection' is of type str"
        in first_failure(result.output)
    ), str(result)
    assert requests == [], [str(r) for r in requests]


def test_a_rules_file_holds_only_assert_tasks(tmp_path: Path):
    """A rules file the action cannot evaluate exactly as Ansible would is an error, never skipped."""
    tasks = tmp_path / "roles" / "odd" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "validate.yml").write_text(
        "- name: Work out a value\n  ansible.builtin.set_fact:\n    odd_value: 1\n"
        "- name: Check it\n  ansible.builtin.assert:\n    that: odd_value == 1\n"
    )
    playbook = tmp_path / "odd.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Check the odd role\n      validate_role_inputs:\n        roles: [odd]\n"
    )
    result = run_playbook(str(playbook), "inventories/local")
    assert result.returncode != 0, str(result)
    assert "roles/odd task 'Work out a value' must be one ansible.builtin.assert" in first_failure(result.output), str(
        result
    )


def test_role_vars_hold_only_the_roles_own_internals():
    """The action puts a role's vars/main.yml beside the task's variables (Ansible ranks role vars
    above play vars): that is the same only while each name is the role's own `__<role>_` internal."""
    foreign = {
        path.parent.parent.name: [name for name in yaml.safe_load(path.read_text()) or {}
                                  if not name.startswith(f"__{path.parent.parent.name}_")]
        for path in (REPO / "roles").glob("*/vars/main.yml")
    }  # fmt: skip
    assert {role: names for role, names in foreign.items() if names} == {}
