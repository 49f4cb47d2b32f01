"""library/iam_roles.py against the moto server, the amazon.aws rhythm: check mode (changed, nothing
created), create, re-run (unchanged, reads only, no write), an out-of-band change of every part of
the role seen by check mode (no write) and put back with only its writes, then absent (check mode
first). Where IAM differs from moto (a new role not yet readable: IAM is eventually consistent),
botocore's Stubber gives IAM's answers. The roles run it in tests/test_provision.py (aws_iam,
aws_logs), tests/test_drift.py and tests/test_teardown.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

roles_module = load_library_module("iam_roles")
NAME = "t-app"
ARN = f"arn:aws:iam::123456789012:role/{NAME}"
SSM = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
TAGS = {"Project": "mensetsu", "Environment": "test"}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::t-media/*"}],
}


def declared(**changes: Any) -> dict[str, Any]:
    role = {
        "name": NAME,
        "assume_role_policy": json.dumps(TRUST),
        "description": "t-app: app hosts",
        "tags": TAGS,
        "managed_policies": [SSM],
        "inline_policies": {"app-access": json.dumps(ACCESS)},
        "instance_profile": True,
    }
    return {**role, **changes}


def run(iam, roles: list[dict[str, Any]], check: bool = False, state: str = "present") -> dict[str, Any]:
    task = TaskModule({"roles": roles, "state": state}, check_mode=check)
    client = RetryingBotoClientWrapper(iam, AWSRetry.jittered_backoff(retries=1))
    roles_module.check_input(task, roles, state)
    if state == "present":
        results = roles_module.converge(task, client, roles)
    else:
        results = roles_module.remove(task, client, roles)
    return {"changed": any(entry["changed"] for entry in results), "results": results}


def operations(requests) -> list[str]:
    return sorted(request.action for request in requests)


@pytest.fixture
def iam(boto):
    return boto("iam")


def roles_named(iam) -> list[str]:
    return [role["RoleName"] for role in iam.list_roles()["Roles"] if role["RoleName"] == NAME]


def test_check_create_rerun_drift_and_absent(aws, iam) -> None:
    with aws.recording_requests() as requests:
        planned = run(iam, [declared()], check=True)
    assert writes(requests) == [] and roles_named(iam) == []
    assert [(e["drift_kind"], e["action"]) for e in planned["results"]] == [
        ("iam_role", "created"),
        ("iam_policy", "created"),
        ("iam_instance_profile", "created"),
    ]
    assert planned["results"][0]["diff"]["after"]["managed_policies"] == [SSM]

    created = run(iam, [declared()])
    assert created["changed"] is True and created["results"][0]["iam_role"]["arn"] == ARN
    role = iam.get_role(RoleName=NAME)["Role"]
    assert role["AssumeRolePolicyDocument"] == TRUST and role["Description"] == "t-app: app hosts"
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == TAGS
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=NAME)["AttachedPolicies"]] == [SSM]
    assert iam.get_role_policy(RoleName=NAME, PolicyName="app-access")["PolicyDocument"] == ACCESS
    profile = iam.get_instance_profile(InstanceProfileName=NAME)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [NAME]
    assert created["results"][2]["iam_instance_profile"]["arn"] == profile["Arn"]

    # A no-op: five reads in flight together (the declared inline policy read by name), no write.
    with aws.recording_requests() as requests:
        again = run(iam, [declared()])
        checked = run(iam, [declared()], check=True)
    assert again["changed"] is False and checked["changed"] is False
    assert writes(requests) == []
    assert operations(requests) == sorted(
        ["GetRole", "ListAttachedRolePolicies", "ListRolePolicies", "GetRolePolicy", "GetInstanceProfile"] * 2
    )

    # By hand, as tests/test_drift.py and tests/test_interrupted_provision.py do: every part changed.
    iam.attach_role_policy(RoleName=NAME, PolicyArn=ADMIN)
    wider = {**ACCESS, "Statement": [*ACCESS["Statement"], {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=NAME, PolicyName="app-access", PolicyDocument=json.dumps(wider))
    iam.put_role_policy(RoleName=NAME, PolicyName="debug", PolicyDocument=json.dumps(ACCESS))
    anyone = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"AWS": "arn:aws:iam::210987654321:root"}}]}
    iam.update_assume_role_policy(RoleName=NAME, PolicyDocument=json.dumps(anyone))
    iam.update_role(RoleName=NAME, Description="by hand")
    iam.tag_role(RoleName=NAME, Tags=[{"Key": "Owner", "Value": "someone"}, {"Key": "Environment", "Value": "prod"}])
    iam.remove_role_from_instance_profile(InstanceProfileName=NAME, RoleName=NAME)

    with aws.recording_requests() as requests:
        drift = run(iam, [declared()], check=True)
    assert writes(requests) == []
    role_entry, policy_entry, profile_entry = drift["results"]
    assert [role_entry["changed"], policy_entry["changed"], profile_entry["changed"]] == [True, True, True]
    assert role_entry["diff"]["before"]["managed_policies"] == sorted([ADMIN, SSM])
    assert role_entry["diff"]["after"]["managed_policies"] == [SSM]
    assert role_entry["diff"]["before"]["tags"] == {**TAGS, "Environment": "prod", "Owner": "someone"}
    assert role_entry["diff"]["before"]["description"] == "by hand"
    assert role_entry["diff"]["before"]["assume_role_policy"] == anyone
    assert role_entry["extra_inline_policies"] == ["debug"], "an undeclared inline policy is reported"
    assert policy_entry["diff"] == {"before": {"policy": wider}, "after": {"policy": ACCESS}}
    assert profile_entry["diff"] == {"before": {"roles": []}, "after": {"roles": [NAME]}}

    with aws.recording_requests() as requests:
        fixed = run(iam, [declared()])
    assert fixed["changed"] is True
    assert sorted(r.action for r in writes(requests)) == sorted(
        [
            "UpdateAssumeRolePolicy",
            "UpdateRole",
            "UntagRole",
            "TagRole",
            "DetachRolePolicy",
            "PutRolePolicy",
            "AddRoleToInstanceProfile",
        ]
    )
    assert run(iam, [declared()])["changed"] is False
    assert iam.get_role_policy(RoleName=NAME, PolicyName="debug"), "an undeclared inline policy is left in place"
    profile = iam.get_instance_profile(InstanceProfileName=NAME)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [NAME]

    gone = [{"name": NAME, "instance_profile": True}]
    with aws.recording_requests() as requests:
        planned_removal = run(iam, gone, check=True, state="absent")
    assert planned_removal["changed"] is True and writes(requests) == [] and roles_named(iam) == [NAME]
    assert planned_removal["results"][0]["diff"]["before"]["inline_policies"] == ["app-access", "debug"]
    assert run(iam, gone, state="absent")["changed"] is True
    assert roles_named(iam) == [] and iam.list_instance_profiles()["InstanceProfiles"] == []
    assert run(iam, gone, state="absent")["changed"] is False


def test_a_role_without_a_profile_and_a_policy_written_otherwise_is_unchanged(aws, iam) -> None:
    """The flow logs' role (roles/aws_logs): no instance profile, no managed policy; a policy that
    IAM holds with a one-element list where the task gives a string reads as the same policy."""
    role = declared(managed_policies=[], instance_profile=False, description=None)
    run(iam, [role])
    listed = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Action": ["sts:AssumeRole"]}]}
    iam.update_assume_role_policy(RoleName=NAME, PolicyDocument=json.dumps(listed))
    iam.update_role(RoleName=NAME, Description="anything")  # not declared: not compared
    with aws.recording_requests() as requests:
        again = run(iam, [role])
    assert again["changed"] is False and writes(requests) == []
    assert operations(requests) == sorted(["GetRole", "ListAttachedRolePolicies", "ListRolePolicies", "GetRolePolicy"])
    assert iam.list_instance_profiles()["InstanceProfiles"] == []


def test_bad_input_stops_before_any_request(aws, iam) -> None:
    with aws.recording_requests() as requests:
        with pytest.raises(ModuleFailed, match="managed_policies must be ARNs: AmazonSSMManagedInstanceCore"):
            run(iam, [declared(managed_policies=["AmazonSSMManagedInstanceCore"])])
        with pytest.raises(ModuleFailed, match="app-access is not JSON"):
            run(iam, [declared(inline_policies={"app-access": "{not json"})])
        with pytest.raises(ModuleFailed, match="roles declared more than once: t-app"):
            run(iam, [declared(), declared()])
    assert requests == []


def test_a_new_role_iam_does_not_answer_for_yet_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """IAM is eventually consistent: right after CreateRole, GetRole may answer NoSuchEntity (moto
    answers at once). The module waits (the role_exists waiter) before it attaches the policies."""
    monkeypatch.setattr(roles_module, "WAIT", {"Delay": 1, "MaxAttempts": 5})
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    role = declared(inline_policies={}, instance_profile=False, tags={})
    stub = Stubber(iam)
    for operation in ("get_role", "list_attached_role_policies", "list_role_policies"):
        stub.add_client_error(operation, "NoSuchEntity", http_status_code=404, service_message="not found")
    when = datetime(2026, 12, 6, tzinfo=UTC)
    answer = {"Path": "/", "RoleName": NAME, "RoleId": "AROAEXAMPLEID0000000", "Arn": ARN, "CreateDate": when}
    stub.add_response("create_role", {"Role": answer})
    stub.add_client_error("get_role", "NoSuchEntity", http_status_code=404)  # not yet
    # The waiter's success is the answer's status (botocore's parser sets it; the Stubber does not).
    stub.add_response("get_role", {"Role": answer, "ResponseMetadata": {"HTTPStatusCode": 200}}, {"RoleName": NAME})
    stub.add_response("attach_role_policy", {}, {"RoleName": NAME, "PolicyArn": SSM})
    # One reader thread: the three reads come in the order the Stubber expects (ordered responses).
    monkeypatch.setattr(roles_module, "MAX_THREADS", 1)
    with stub:
        result = run(iam, [role])
        stub.assert_no_pending_responses()
    assert result["results"][0]["action"] == "created" and result["results"][0]["iam_role"]["arn"] == ARN
