"""library/ec2_key_pair.py against the moto server: one DescribeKeyPairs on a run that changes nothing,
no write in check mode, tags kept exact, and a pair holding another public key kept with a warning,
or replaced with `replace` (compared by key type and data, whatever comment AWS adds)."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.support.library_code import TaskModule, load_library_module
from tests.support.requests import writes

key_module = load_library_module("ec2_key_pair")
TAGS = {"Project": "mensetsu", "Environment": "test"}


def public_key(comment: str) -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    text = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{text} {comment}"


@pytest.fixture
def ec2(boto):
    return boto("ec2")


def converge(ec2, check: bool = False, **params: Any) -> tuple[dict[str, Any], TaskModule]:
    task = TaskModule({"name": "t-admin", "tags": TAGS, "replace": False, **params}, check_mode=check)
    result = key_module.converge(task, RetryingBotoClientWrapper(ec2, AWSRetry.jittered_backoff(retries=1)))
    return result, task


def test_a_pair_is_imported_once_and_then_read_with_one_request(aws, ec2) -> None:
    key = public_key("admin@mensetsu")
    with aws.recording_requests() as requests:
        planned, _ = converge(ec2, check=True, public_key=key)
    assert writes(requests) == [] and planned["changed"] is True and planned["key"]["id"] == ""
    created, _ = converge(ec2, public_key=key)
    pair = ec2.describe_key_pairs(KeyNames=["t-admin"])["KeyPairs"][0]
    assert created["key"]["id"] == pair["KeyPairId"] and {t["Key"]: t["Value"] for t in pair["Tags"]} == TAGS
    for check in (False, True):
        with aws.recording_requests() as requests:
            again, task = converge(ec2, check=check, public_key=key)
        assert [request.action for request in requests] == ["DescribeKeyPairs"]
        assert again["changed"] is False and again["key"]["fingerprint"] == pair["KeyFingerprint"]
        assert task.warnings == []
    # Another comment is the same key.
    assert converge(ec2, public_key=key.rsplit(" ", 1)[0] + " someone-else")[0]["changed"] is False


def test_tags_changed_by_hand_are_a_diff_and_put_back(aws, ec2) -> None:
    key = public_key("admin@mensetsu")
    pair = converge(ec2, public_key=key)[0]["key"]["id"]
    ec2.create_tags(Resources=[pair], Tags=[{"Key": "Owner", "Value": "someone"}])
    with aws.recording_requests() as requests:
        planned, _ = converge(ec2, check=True, public_key=key)
    assert writes(requests) == []
    assert planned["diff"] == {"before": {"tags": {**TAGS, "Owner": "someone"}}, "after": {"tags": TAGS}}
    assert converge(ec2, public_key=key)[0]["changed"] is True
    assert converge(ec2, public_key=key)[0]["changed"] is False


def test_another_key_is_kept_with_a_warning_or_replaced_when_asked(aws, ec2) -> None:
    old, new = public_key("old"), public_key("new")
    first = converge(ec2, public_key=old)[0]["key"]
    with aws.recording_requests() as requests:
        kept, task = converge(ec2, public_key=new)
    assert writes(requests) == [] and kept["changed"] is False
    assert any("holds another public key" in warning for warning in task.warnings), task.warnings
    planned, _ = converge(ec2, check=True, public_key=new, replace=True)
    assert planned["diff"]["after"] == {"public_key": " ".join(new.split()[:2])}
    with aws.recording_requests() as requests:
        replaced, _ = converge(ec2, public_key=new, replace=True)
    assert [request.action for request in writes(requests)] == ["DeleteKeyPair", "ImportKeyPair"]
    assert replaced["key"]["fingerprint"] != first["fingerprint"]
    again, task = converge(ec2, public_key=new, replace=True)
    assert again["changed"] is False and task.warnings == []
