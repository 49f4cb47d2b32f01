"""Bad input stops site.yml in preflight, before anything is written, with a message naming the variable."""

from __future__ import annotations

import pytest

from tests.support.playbook import run_playbook
from tests.support.requests import writes

# amazon.aws.aws_caller_info: the caller's identity and the account's alias, both reads.
IDENTITY_READS = {"GetCallerIdentity", "ListAccountAliases"}

BAD_INPUTS = [
    ({"admin_cidr": "0.0.0.0/0"}, "admin_cidr: '0.0.0.0/0' would open SSH to the world"),
    ({"admin_cidr": "::/0"}, "admin_cidr: '::/0' would open SSH to the world"),
    ({"admin_cidr": "10.0.0.0/8"}, "admin_cidr: '10.0.0.0/8' would open SSH to the world"),
    ({"admin_cidr": "203.0.113.300/32"}, "admin_cidr: '203.0.113.300/32' is not a valid CIDR"),
    ({"vpc_cidr": "10.0.0.0/33"}, "vpc_cidr: '10.0.0.0/33' must be an IPv4 network"),
    ({"public_subnet_cidrs": ["10.20.0.0/24", "10.20.0.0/25"]}, "the subnets overlap: 10.20.0.0/24 overlaps"),
    ({"public_subnet_cidrs": ["10.99.0.0/24", "10.20.1.0/24"]}, "10.99.0.0/24 must lie inside vpc_cidr"),
    ({"app_instance_type": "t3.humongous"}, "app_instance_type: 't3.humongous' is not a known instance type"),
    ({"db_instance_class": "db.x9.huge"}, "db_instance_class: 'db.x9.huge' is not a known RDS class"),
    ({"app_instance_count": 0}, "app_instance_count: 0 must be from 1 to 10"),
    ({"domain_name": "not a domain"}, "domain_name: 'not a domain' is not a lowercase DNS name"),
    ({"require_api_keys": True}, "openai_api_key, google_cloud_credentials, heygen_api_key: no value given"),
    ({"expected_account_id": "999999999999"}, "expected_account_id: the credentials belong to account 123456789012"),
]


@pytest.mark.parametrize(
    ("extra_vars", "message"), BAD_INPUTS, ids=[next(iter(v)) + "-" + str(i) for i, (v, _) in enumerate(BAD_INPUTS)]
)
def test_bad_input_stops_in_preflight_without_writing(aws, monkeypatch, extra_vars, message):
    for key in ("OPENAI_API_KEY", "GOOGLE_CLOUD_CREDENTIALS", "HEYGEN_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    with aws.recording_requests() as requests:
        result = run_playbook("site.yml", "inventories/local", env=aws.env, extra_vars=extra_vars)
    assert result.returncode != 0, str(result)
    assert " ".join(message.split()) in " ".join(result.output.replace("''", "'").split()), str(result)
    assert "Validate the environment's settings" in result.output
    assert "Provision the AWS platform" not in result.output, "the run went past preflight"
    assert writes(requests) == []
    allowed = IDENTITY_READS if "expected_account_id" in extra_vars else set()
    assert {request.action for request in requests} <= allowed, [str(r) for r in requests]


def test_good_input_passes_preflight_reading_only_the_identity(aws):
    with aws.recording_requests() as requests:
        result = run_playbook("playbooks/preflight.yml", "inventories/local", env=aws.env)
    assert result.returncode == 0, str(result)
    assert {request.action for request in requests} == IDENTITY_READS
