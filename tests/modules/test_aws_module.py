"""module_utils/aws_module.py: the project's modules take their boto3 clients from one session per
process (a new session per client reloads botocore's JSON models: 40-130 ms of CPU each), and a task
with other credentials, another profile or another endpoint never gets a client of another's session."""

from __future__ import annotations

import os

import pytest
from ansible.module_utils.testing import patch_module_args

from tests.support.library_code import load_library_module
from tests.support.moto import MotoServer

load_library_module("ec2_vpc_network")  # puts the repository's module_utils on ansible.module_utils
from ansible.module_utils import aws_module
from ansible_collections.amazon.aws.plugins.module_utils.retries import (
    AWSRetry,
    RetryingBotoClientWrapper,
)


def module() -> aws_module.AWSModule:
    with patch_module_args({}):
        return aws_module.AWSModule(argument_spec={}, supports_check_mode=True)


@pytest.fixture
def sessions(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setattr(aws_module, "_SESSIONS", {})
    return aws_module._SESSIONS


def test_every_client_of_a_process_comes_from_one_session(sessions: dict) -> None:
    first, second = module(), module()  # two tasks of one run, in mitogen's one interpreter
    sts = first.client("sts")
    ec2 = first.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    elbv2 = second.client("elbv2")
    route53 = second.client("route53", region="us-east-1")

    assert len(sessions) == 1
    assert sts.get_caller_identity()["Account"]
    assert isinstance(ec2, RetryingBotoClientWrapper)
    assert ec2.describe_vpcs()["Vpcs"] is not None
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    # What AnsibleAWSModule.client gives: the task's region, the endpoint, an explicit region kept.
    assert sts.meta.region_name == os.environ["AWS_REGION"]
    assert sts.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL"]
    assert route53.meta.region_name == "us-east-1"
    assert sts.meta.config.user_agent.startswith("APN/1.0 Ansible/")


def test_other_credentials_an_other_profile_or_a_forked_child_get_a_session_of_their_own(
    sessions: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = module().client("sts")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDOTHERTASK")
    other = module().client("sts")
    assert len(sessions) == 2
    assert before._request_signer._credentials.access_key == "testing"
    assert other._request_signer._credentials.access_key == "AKIDOTHERTASK"

    monkeypatch.setattr(os, "getpid", lambda: -1)  # a fork's pid: its parent's pooled connections stay the parent's
    module().client("sts")
    assert len(sessions) == 3
