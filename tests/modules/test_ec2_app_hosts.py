"""library/ec2_app_hosts.py against the moto server: the hosts found by their Name tag with one
DescribeInstances, a launch only for a missing one (its image read from SSM only then), no write in
check mode, a changed type, metadata option, tag or state put back (the type through a stop and a
start, as amazon.aws.ec2_instance does), and one result per host named for the drift report. The whole
role runs it in tests/test_provision.py, tests/test_drift.py and tests/test_later_runs.py."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.requests import writes

hosts_module = load_library_module("ec2_app_hosts")
TAGS = {"Project": "mensetsu", "Environment": "test", "Role": "app"}
PARAMETER = "/mensetsu/test/ami"


@pytest.fixture
def setting(boto) -> dict[str, Any]:
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.46.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.46.1.0/24", AvailabilityZone="ap-northeast-1a")["Subnet"]
    group = ec2.create_security_group(GroupName="t-app", Description="t", VpcId=vpc)["GroupId"]
    iam = boto("iam", "us-east-1")
    profile = iam.create_instance_profile(InstanceProfileName="t-app")["InstanceProfile"]["Arn"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    boto("ssm").put_parameter(Name=PARAMETER, Value=image, Type="String")
    return {"subnet": subnet["SubnetId"], "group": group, "profile": profile, "image": image}


def params(setting: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "hosts": [{"name": "t-app-1", "subnet_id": setting["subnet"], "tags": {}}],
        "filters": {"tag:Project": "mensetsu", "tag:Environment": "test", "tag:Role": "app"},
        "instance_type": "t3.small",
        "image_id": "",
        "image_parameter": PARAMETER,
        "key_name": None,
        "security_groups": [setting["group"]],
        "instance_profile": setting["profile"],
        "assign_public_ip": True,
        "root_volume": {"device_name": "/dev/xvda", "size": 8, "type": "gp3", "encrypted": True},
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 2},
        "tags": TAGS,
        "wait_timeout": 60,
        **changes,
    }


def wrapped(client: Any) -> Any:
    return RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1))


def converge(boto, task_params: dict[str, Any], check: bool = False) -> dict[str, Any]:
    task = TaskModule(task_params, check_mode=check)
    return hosts_module.converge(task, wrapped(boto("ec2")), wrapped(boto("ssm")))


def operations(requests) -> list[str]:
    return [request.action for request in requests]


def live(boto) -> list[dict[str, Any]]:
    filters = [
        {"Name": "tag:Role", "Values": ["app"]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]},
    ]
    return [i for r in boto("ec2").describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]


def test_check_mode_plans_the_host_and_reads_no_image(aws, boto, setting) -> None:
    with aws.recording_requests() as requests:
        result = converge(boto, params(setting), check=True)
    assert writes(requests) == [] and operations(requests) == ["DescribeInstances"]
    assert result["changed"] is True and result["results"][0]["action"] == "created"
    assert result["instances"] == [] and live(boto) == []


def test_a_host_is_launched_once_then_read_with_one_request(aws, boto, setting) -> None:
    with aws.recording_requests() as requests:
        first = converge(boto, params(setting))
    assert [r.action for r in writes(requests)] == ["RunInstances"] and "GetParameter" in operations(requests)
    [instance] = live(boto)
    assert instance["ImageId"] == setting["image"] and instance["InstanceType"] == "t3.small"
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["IamInstanceProfile"]["Arn"] == setting["profile"]
    assert {t["Key"]: t["Value"] for t in instance["Tags"]} == {**TAGS, "Name": "t-app-1"}
    assert first["instance_ids"] == [instance["InstanceId"]]
    assert first["instances"][0]["public_ip_address"] and first["instances"][0]["tags"]["Name"] == "t-app-1"
    for check in (False, True):
        with aws.recording_requests() as requests:
            again = converge(boto, params(setting), check=check)
        assert operations(requests) == ["DescribeInstances"], operations(requests)
        assert again["changed"] is False and again["instance_ids"] == [instance["InstanceId"]]
        entry = again["results"][0]
        assert entry["drift_kind"] == "ec2_instance" and entry["instances"][0]["instance_id"] == instance["InstanceId"]
    # A newer image never replaces the host: the image is a launch setting.
    boto("ssm").put_parameter(Name=PARAMETER, Value="ami-0123456789abcdef0", Type="String", Overwrite=True)
    assert converge(boto, params(setting))["changed"] is False


def test_drift_is_a_diff_in_check_mode_and_the_converge_puts_it_back(aws, boto, setting) -> None:
    instance = converge(boto, params(setting))["instance_ids"][0]
    ec2 = boto("ec2")
    ec2.modify_instance_metadata_options(InstanceId=instance, HttpTokens="optional")
    ec2.stop_instances(InstanceIds=[instance])
    ec2.modify_instance_attribute(InstanceId=instance, InstanceType={"Value": "t3.large"})
    ec2.start_instances(InstanceIds=[instance])
    ec2.create_tags(Resources=[instance], Tags=[{"Key": "Owner", "Value": "someone"}])
    with aws.recording_requests() as requests:
        planned = converge(boto, params(setting), check=True)
    assert writes(requests) == []
    diff = planned["results"][0]["diff"]
    assert (diff["before"]["instance_type"], diff["after"]["instance_type"]) == ("t3.large", "t3.small")
    assert diff["before"]["metadata_options"]["http_tokens"] == "optional"
    assert diff["after"]["metadata_options"]["http_tokens"] == "required"
    assert diff["before"]["tags"]["Owner"] == "someone" and "Owner" not in diff["after"]["tags"]
    with aws.recording_requests() as requests:
        fixed = converge(boto, params(setting))
    assert fixed["changed"] is True
    assert [r.action for r in writes(requests)] == [
        "DeleteTags",
        "ModifyInstanceMetadataOptions",
        "StopInstances",
        "ModifyInstanceAttribute",
        "StartInstances",
    ]
    [found] = live(boto)
    assert found["InstanceType"] == "t3.small" and found["MetadataOptions"]["HttpTokens"] == "required"
    assert fixed["instances"][0]["instance_type"] == "t3.small"
    with aws.recording_requests() as requests:
        assert converge(boto, params(setting))["changed"] is False
    assert writes(requests) == []


def test_a_stopped_host_is_started_and_two_of_one_name_stop_the_module(aws, boto, setting) -> None:
    instance = converge(boto, params(setting))["instance_ids"][0]
    boto("ec2").stop_instances(InstanceIds=[instance])
    with aws.recording_requests() as requests:
        started = converge(boto, params(setting))
    assert [r.action for r in writes(requests)] == ["StartInstances"]
    assert started["results"][0]["diff"] == {"before": {"state": "stopped"}, "after": {"state": "running"}}
    ec2 = boto("ec2")
    ec2.run_instances(
        ImageId=setting["image"],
        MinCount=1,
        MaxCount=1,
        SubnetId=setting["subnet"],
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": k, "Value": v} for k, v in {**TAGS, "Name": "t-app-1"}.items()],
            }
        ],
    )
    with aws.recording_requests() as requests, pytest.raises(ModuleFailed, match="2 live instances are named t-app-1"):
        converge(boto, params(setting))
    assert writes(requests) == []


def test_a_new_instance_profile_ec2_does_not_know_yet_is_asked_again(monkeypatch, setting) -> None:
    """AWS answers RunInstances "Invalid IAM Instance Profile" for seconds after IAM made the profile
    (moto takes it at once): fed with botocore's Stubber, the launch is asked again once."""
    client = boto3.client("ec2", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(hosts_module.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(hosts_module.AppHosts, "wait", lambda self, waiter, instance_id: None)
    launched = {"Instances": [{"InstanceId": "i-0123456789abcdef0"}]}
    with Stubber(client) as stubber:
        stubber.add_response("describe_instances", {"Reservations": []})
        message = (
            "Value (arn:aws:iam::123456789012:instance-profile/t-app) for parameter iamInstanceProfile.arn"
            " is invalid. Invalid IAM Instance Profile ARN"
        )
        stubber.add_client_error("run_instances", "InvalidParameterValue", message)
        stubber.add_response("run_instances", launched)
        stubber.add_response(
            "describe_instances", {"Reservations": [{"Instances": [{"InstanceId": "i-0123456789abcdef0"}]}]}
        )
        task = TaskModule(params(setting, image_id=setting["image"]))
        result = hosts_module.converge(
            task, RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1)), None
        )
        stubber.assert_no_pending_responses()
    assert result["instance_ids"] == ["i-0123456789abcdef0"] and result["changed"] is True
