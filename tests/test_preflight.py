"""Preflight on good input, and its run-once guard. The bad inputs are the corpus of
tests/test_bad_input.py (tests/bad_input_cases.yml), run through every entry playbook."""

from __future__ import annotations

import re
from collections import Counter

from tests.support.playbook import run_playbook, unwrap
from tests.support.requests import writes

# library/aws_account_info: the caller's identity, a read.
IDENTITY_READS = {"GetCallerIdentity"}
# playbooks/preflight.yml's one task for every role's argument spec and rules.
ROLES_TASK = "TASK [Check each role's own inputs before any role writes]"


def validated_roles(output: str) -> list[list[str]]:
    """The roles each run of ROLES_TASK validated, from its message (printed with -v)."""
    return [found.split(", ") for found in re.findall(r"msg: '?valid \(validate\): ([a-z_, ]+[a-z_])", unwrap(output))]


def test_good_input_passes_preflight_reading_only_the_identity(aws):
    with aws.recording_requests() as requests:
        result = run_playbook(
            "playbooks/preflight.yml",
            "inventories/local",
            env=aws.env,
            extra_vars={"preflight_for": ["provision", "configure", "publish_static", "smoke"]},
            args=("-v",),
        )
    assert result.returncode == 0, str(result)
    # Every role's argument spec and rules in one task; no per-role task.
    assert result.output.count(ROLES_TASK) == 1, str(result)
    assert "Validating arguments against arg spec" not in result.output, str(result)
    [roles] = validated_roles(result.output)
    assert {"aws_network", "aws_compute", "aws_budget", "static_site", "fastapi_service"} <= set(roles), roles
    assert {request.action for request in requests} == IDENTITY_READS


def test_site_validates_once_per_run_and_only_what_its_tags_reach(aws):
    """site.yml's own preflight validates every stage; the stages' imported preflights find it done."""
    with aws.recording_requests() as requests:
        result = run_playbook("site.yml", "inventories/local", env=aws.env, args=("--tags", "preflight", "-v"))
    assert result.returncode == 0, str(result)
    assert result.output.count("PLAY [Validate the environment's settings]") == 5, str(result)
    assert result.output.count(ROLES_TASK) == 1, str(result)
    assert result.output.count("TASK [Check the environment's names, domain and region]") == 1, str(result)
    # --tags preflight runs neither the static publish nor the app's deploy: neither is asked for.
    [roles] = validated_roles(result.output)
    assert "aws_network" in roles and "static_site" not in roles and "fastapi_service" not in roles, roles
    # The roles preflight validated are imported without ansible-core's second check of their
    # argument spec (rolespec_validate: false), which Ansible tags `always`: it would run here.
    assert "aws_network : Validating arguments" not in result.output, str(result)
    assert writes(requests) == []
    assert Counter(request.action for request in requests) == Counter(IDENTITY_READS), [str(r) for r in requests]
