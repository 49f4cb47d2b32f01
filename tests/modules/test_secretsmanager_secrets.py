"""library/secretsmanager_secrets.py against the moto server: one ListSecrets for the environment's
secrets, a value read only where the task may overwrite it, a write only where a secret differs, none in
check mode, and never a value in the result. The whole role runs it in tests/test_provision.py and
tests/test_drift.py."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

secrets_module = load_library_module("secretsmanager_secrets")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from latency_proxy import LatencyProxy

PREFIX = "mensetsu/test/"
TAGS = {"Project": "mensetsu", "Environment": "test"}
KEY = "test-only-key-0123456789"  # fixture values for the emulator, not secrets
GENERATED = json.dumps({"username": "app_admin", "password": "test-only-password"})


def declared(key: str = KEY, overwrite: bool = True) -> list[dict[str, Any]]:
    return [
        {"name": f"{PREFIX}api-key", "description": "api-key for test", "secret": key, "overwrite": overwrite},
        {"name": f"{PREFIX}db", "description": "database credentials", "secret": GENERATED, "overwrite": False},
    ]


@pytest.fixture
def secrets(boto):
    return boto("secretsmanager")


def converge(secrets, specs: list[dict], check: bool = False) -> dict[str, Any]:
    task = TaskModule({"prefix": PREFIX, "secrets": specs, "tags": TAGS}, check_mode=check)
    return secrets_module.converge(task, RetryingBotoClientWrapper(secrets, AWSRetry.jittered_backoff(retries=1)))


def operations(requests) -> list[str]:
    return [request.action for request in requests]


def value(secrets, name: str) -> str:
    return secrets.get_secret_value(SecretId=f"{PREFIX}{name}")["SecretString"]


def test_check_mode_plans_the_secrets_and_writes_nothing(aws, secrets) -> None:
    with aws.recording_requests() as requests:
        result = converge(secrets, declared(), check=True)
    assert [(entry["changed"], entry["changes"]) for entry in result["results"]] == [(True, ["create"])] * 2
    assert writes(requests) == [] and secrets.list_secrets()["SecretList"] == []
    assert KEY not in json.dumps(result)


def test_a_converged_set_is_one_list_and_only_the_reads_each_secret_needs(aws, secrets) -> None:
    first = converge(secrets, declared())
    assert first["changed"] is True and value(secrets, "api-key") == KEY and value(secrets, "db") == GENERATED
    tags = secrets.describe_secret(SecretId=f"{PREFIX}db")["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == TAGS

    with aws.recording_requests() as requests:
        again = converge(secrets, declared())
    assert again["changed"] is False and writes(requests) == []
    # The value is read only for the key the task may overwrite; the policy of each.
    assert sorted(operations(requests)) == sorted(
        ["ListSecrets", "GetSecretValue", "GetResourcePolicy", "GetResourcePolicy"]
    )
    assert [entry["arn"] for entry in again["results"]] == [
        secrets.describe_secret(SecretId=f"{PREFIX}{name}")["ARN"] for name in ("api-key", "db")
    ]

    # A generated credential is never replaced (another value each run), a given key is.
    other = [{**spec, "secret": "x" * 20} if spec["name"].endswith("db") else spec for spec in declared()]
    assert converge(secrets, other)["changed"] is False and value(secrets, "db") == GENERATED
    with aws.recording_requests() as requests:
        planned = converge(secrets, declared(key="test-only-key-rotated"), check=True)
    assert writes(requests) == [] and planned["results"][0]["changes"] == ["update"]
    converge(secrets, declared(key="test-only-key-rotated"))
    assert value(secrets, "api-key") == "test-only-key-rotated"


def test_tags_a_policy_and_a_scheduled_deletion_made_by_hand_are_undone(aws, secrets) -> None:
    converge(secrets, declared())
    arn = secrets.describe_secret(SecretId=f"{PREFIX}db")["ARN"]
    secrets.tag_resource(SecretId=arn, Tags=[{"Key": "Owner", "Value": "someone"}])
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
        ],
    }
    secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(policy))
    secrets.delete_secret(SecretId=f"{PREFIX}api-key", RecoveryWindowInDays=7)

    with aws.recording_requests() as requests:
        planned = converge(secrets, declared(), check=True)
    assert writes(requests) == []
    assert [entry["changes"] for entry in planned["results"]] == [
        ["restore", "update"],  # a deleted secret's value cannot be read: put again
        ["delete resource policy", "untag"],
    ]
    converge(secrets, declared())
    assert "DeletedDate" not in secrets.describe_secret(SecretId=f"{PREFIX}api-key")
    described = secrets.describe_secret(SecretId=arn)
    assert {tag["Key"]: tag["Value"] for tag in described["Tags"]} == TAGS
    assert "ResourcePolicy" not in secrets.get_resource_policy(SecretId=arn)
    assert converge(secrets, declared())["changed"] is False


def test_a_secret_outside_the_prefix_stops_before_any_request(aws, secrets) -> None:
    wrong = [{**declared()[0], "name": "elsewhere/api-key"}]
    with aws.recording_requests() as requests, pytest.raises(ModuleFailed, match="elsewhere/api-key"):
        converge(secrets, wrong)
    assert requests == []


def test_the_secrets_own_reads_are_in_flight_together(aws, secrets) -> None:
    """Issue 18: each secret's resource-policy read is independent, so they go side by side (one
    thread per secret on the one client), not one after another."""
    converge(secrets, declared())
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def enter(**_: Any) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.3)  # a distant region's round trip: the other read starts meanwhile

    def leave(**_: Any) -> None:
        with lock:
            state["now"] -= 1

    secrets.meta.events.register("before-call.secrets-manager.GetResourcePolicy", enter)
    secrets.meta.events.register("after-call.secrets-manager.GetResourcePolicy", leave)
    assert converge(secrets, declared(overwrite=False))["changed"] is False
    assert state["most"] == 2


def test_two_values_are_one_read_and_the_policies_and_tags_can_be_left_alone(aws, secrets) -> None:
    """Issue 18: roles/aws_data adds the servers' endpoints to both credentials in one run: their two
    values are read with one BatchGetSecretValue, and the policies and tags (the secrets role's) are
    neither read nor changed. A structured value stored with other member order or spacing is the
    same value; one that lacks a member is not."""
    credentials = {"username": "app_admin", "password": "test-only-password", "port": 5432}
    both = [
        {"name": f"{PREFIX}db", "description": "db", "secret": json.dumps(credentials), "overwrite": True},
        {
            "name": f"{PREFIX}redis",
            "description": "redis",
            "secret": json.dumps({"auth_token": "t"}),
            "overwrite": True,
        },
    ]
    converge(secrets, both)
    arn = secrets.describe_secret(SecretId=f"{PREFIX}db")["ARN"]
    secrets.tag_resource(SecretId=arn, Tags=[{"Key": "Owner", "Value": "someone"}])
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}],
    }
    secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(policy))
    # The same members, written by another tool: other order, no spaces.
    secrets.put_secret_value(
        SecretId=arn, SecretString=json.dumps(dict(reversed(credentials.items())), separators=(",", ":"))
    )

    def endpoints(specs: list[dict], check: bool = False) -> dict[str, Any]:
        task = TaskModule({"prefix": PREFIX, "secrets": specs, "tags": None, "purge_resource_policy": False}, check)
        return secrets_module.converge(task, RetryingBotoClientWrapper(secrets, AWSRetry.jittered_backoff(retries=1)))

    with aws.recording_requests() as requests:
        assert endpoints(both)["changed"] is False
    assert sorted(operations(requests)) == ["BatchGetSecretValue", "ListSecrets"]

    with_host = [{**both[0], "secret": json.dumps({**credentials, "host": "db.internal"})}, both[1]]
    with aws.recording_requests() as requests:
        planned = endpoints(with_host, check=True)
    assert writes(requests) == [] and [entry["changes"] for entry in planned["results"]] == [["update"], []]
    assert endpoints(with_host)["changed"] is True
    assert json.loads(value(secrets, "db"))["host"] == "db.internal"
    described = secrets.describe_secret(SecretId=arn)
    assert {tag["Key"] for tag in described["Tags"]} == {*TAGS, "Owner"}
    assert json.loads(secrets.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == policy


def test_a_no_op_is_one_round_trip(aws, secrets) -> None:
    """Issue 18: the value and the policies are asked by the secrets' names beside ListSecrets, so a
    converged set waits for one round trip; nothing is asked again by ARN."""
    converge(secrets, declared())
    with LatencyProxy(aws.endpoint, delay_ms=300) as proxy:
        client = boto3.client("secretsmanager", region_name="ap-northeast-1", endpoint_url=proxy.endpoint)
        assert converge(client, declared())["changed"] is False
        counts = proxy.counts()
    assert (counts.requests, counts.max_in_flight) == (4, 4), counts.table()
