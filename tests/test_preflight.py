"""Preflight on good input, and its run-once guard. The bad inputs are the corpus of
tests/test_bad_input.py (tests/bad_input_cases.yml), run through every entry playbook."""

from __future__ import annotations

from collections import Counter

from tests.support.playbook import run_playbook
from tests.support.requests import writes

# amazon.aws.aws_caller_info: the caller's identity and the account's alias, both reads.
IDENTITY_READS = {"GetCallerIdentity", "ListAccountAliases"}


def test_good_input_passes_preflight_reading_only_the_identity(aws):
    with aws.recording_requests() as requests:
        result = run_playbook(
            "playbooks/preflight.yml",
            "inventories/local",
            env=aws.env,
            extra_vars={"preflight_for": ["provision", "configure", "publish_static", "smoke"]},
        )
    assert result.returncode == 0, str(result)
    assert "aws_compute : Check the app hosts' type, count and volume" in result.output
    assert "static_site : Check that a build was given" in result.output
    assert {request.action for request in requests} == IDENTITY_READS


def test_site_validates_once_per_run_and_only_what_its_tags_reach(aws):
    """site.yml's own preflight validates every stage; the stages' imported preflights find it done."""
    with aws.recording_requests() as requests:
        result = run_playbook("site.yml", "inventories/local", env=aws.env, args=("--tags", "preflight"))
    assert result.returncode == 0, str(result)
    assert result.output.count("PLAY [Validate the environment's settings]") == 5, str(result)
    network_rule = "TASK [aws_network : Check that the VPC and subnet CIDRs are networks]"
    assert result.output.count(network_rule) == 1, str(result)
    assert result.output.count("TASK [Check the environment's names, domain and region]") == 1, str(result)
    # --tags preflight runs neither the static publish nor the app's deploy: neither is asked for.
    # (Their argument specs still run: Ansible tags a role's spec validation `always`.)
    assert "TASK [static_site : Check that a build was given" not in result.output, str(result)
    assert "TASK [fastapi_service : Check that an artifact was given" not in result.output, str(result)
    assert writes(requests) == []
    assert Counter(request.action for request in requests) == Counter(IDENTITY_READS), [str(r) for r in requests]
