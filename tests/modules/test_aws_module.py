"""module_utils/aws_module.py: the AWS modules of a run, the project's and the collections', take their
boto3 clients from one cache per process (a new session per client reloads botocore's JSON models, and
a new client opens new connections: a TLS handshake per task on AWS), and a task with other
credentials, another profile, another endpoint, other client settings or changed config files never
gets a client made for another."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import botocore.config
import pytest
from ansible.module_utils.testing import patch_module_args

from tests.support.library_code import load_library_module
from tests.support.moto import MotoServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from latency_proxy import LatencyProxy

load_library_module("ec2_vpc_network")  # puts the repository's module_utils on ansible.module_utils
from ansible.module_utils import aws_module
from ansible_collections.amazon.aws.plugins.module_utils import botocore as aws_botocore
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
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
    monkeypatch.setattr(aws_module, "_CLIENTS", {})
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


def collection_module(**params: Any) -> AnsibleAWSModule:
    """A collection module's AnsibleAWSModule, as amazon.aws's modules make it."""
    with patch_module_args(params):
        return AnsibleAWSModule(argument_spec={}, supports_check_mode=True)


def raw(client: Any) -> Any:
    return client.client if isinstance(client, RetryingBotoClientWrapper) else client


def test_later_tasks_get_the_client_an_earlier_task_made_and_its_kept_alive_connection(
    sessions: dict, aws: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Four tasks of one run: two of the project's modules, two of the collections'. Through a proxy
    # that counts the TCP connections the clients open: one for all of them.
    with LatencyProxy(aws.endpoint) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
        ours = [module().client("ec2", retry_decorator=AWSRetry.jittered_backoff()) for _ in range(2)]
        theirs = [collection_module().client("ec2", retry_decorator=AWSRetry.jittered_backoff()) for _ in range(2)]
        for client in ours + theirs:
            assert client.describe_vpcs(aws_retry=True)["Vpcs"] is not None
        counts = proxy.counts()
    assert raw(ours[0]) is raw(ours[1])
    assert raw(theirs[0]) is raw(theirs[1])
    # The collections' clients keep amazon.aws's own user agent and settings: a client of their own.
    assert raw(ours[0]) is not raw(theirs[0])
    assert raw(theirs[0]).meta.config.user_agent.startswith("APN/1.0 Ansible/")
    assert "amazon.aws" in raw(theirs[0]).meta.config.user_agent
    assert counts.requests == 4, counts.table()
    assert counts.connections == 2, counts.table()  # one per cached client, not one per task


@pytest.mark.parametrize("make", [module, collection_module], ids=["project module", "collection module"])
def test_other_settings_get_a_client_of_their_own(sessions: dict, monkeypatch: pytest.MonkeyPatch, make) -> None:
    first = raw(make().client("sts"))
    assert raw(make().client("sts")) is first
    others = [
        raw(make().client("sts", region="us-east-1")),  # another region
        raw(make().client("sts", endpoint="http://127.0.0.1:9")),  # another endpoint
        raw(make().client("sts", aws_access_key_id="AKIDEXPLICIT", aws_secret_access_key="other")),
        raw(make().client("sts", config=botocore.config.Config(retries={"mode": "adaptive"}))),
        raw(make().client("s3")),  # another service
    ]
    assert all(other is not first for other in others)
    assert len({id(other) for other in others}) == len(others)
    explicit = others[2]
    assert explicit._request_signer._credentials.access_key == "AKIDEXPLICIT"
    assert others[3].meta.config.retries["mode"] == "adaptive"

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDOTHERTASK")  # the task's environment: other credentials
    changed = raw(make().client("sts"))
    assert changed is not first
    assert changed._request_signer._credentials.access_key == "AKIDOTHERTASK"

    monkeypatch.setattr(os, "getpid", lambda: -1)  # a forked child
    assert raw(make().client("sts")) is not changed


def test_a_changed_config_or_credentials_file_gives_new_clients(
    sessions: dict, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An operator refreshing ~/.aws/credentials during a run: later tasks use what the file says now.
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = one\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    before = raw(module().client("sts"))
    assert before._request_signer._credentials.access_key == "AKIDFROMFILE"
    credentials.write_text("[default]\naws_access_key_id = AKIDROTATED\naws_secret_access_key = two\n")
    os.utime(credentials, ns=(1, 1))  # another modification time, whatever the clock's resolution
    after = raw(module().client("sts"))
    assert after is not before
    assert after._request_signer._credentials.access_key == "AKIDROTATED"


def test_placebo_runs_and_resources_are_built_as_amazon_aws_builds_them(
    sessions: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    resource = collection_module().resource("s3")
    assert collection_module().resource("s3") is not resource
    assert sessions == {} and aws_module._CLIENTS == {}
    monkeypatch.setenv("_ANSIBLE_PLACEBO_REPLAY", "/nonexistent")  # amazon.aws's recorded-answer tests
    monkeypatch.setattr(aws_botocore, "enable_placebo", lambda session: None)
    assert raw(collection_module().client("sts")) is not raw(collection_module().client("sts"))
    assert aws_module._CLIENTS == {}


def test_installing_twice_wraps_nothing_twice() -> None:
    installed = aws_botocore._boto3_conn
    assert installed.shared_by_mensetsu is True
    aws_module.share_clients()
    assert aws_botocore._boto3_conn is installed
