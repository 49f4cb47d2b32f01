"""library/aws_unmanaged_resources_info.py against the moto server: a small declared environment (a VPC,
two subnets, two groups, one instance, the role, a bucket, a zone, a load balancer, a target group, a
distribution, secrets, an alarm), then one out-of-band extra of each kind made with boto3, as someone
at the console would: the scan names each extra and nothing declared, the allow-list hides the
expected ones, and the scan sends only reads. In-process (the module's run_scan with boto3 clients)
and once through ansible-playbook in check mode. Seconds per test."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.library_code import load_library_module
from tests.support.playbook import JSON_OUTPUT, run_playbook, task_result_json
from tests.support.requests import writes

ENV = "test"
TAGS = {"Project": "mensetsu", "Environment": ENV}
PREFIX = "mensetsu/test"
ZONE_NAME = "test.mensetsu.example.com"


def load_module():
    return load_library_module("aws_unmanaged_resources_info")


def declared_environment(boto) -> dict:
    """The environment as the roles would have declared it; returns the module's parameters."""
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for cidr, zone in (("10.40.0.0/24", "ap-northeast-1a"), ("10.40.1.0/24", "ap-northeast-1c"))
    ]
    groups = [
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("mensetsu-test-alb", "mensetsu-test-app")
    ]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnets[0], SecurityGroupIds=[groups[1]]
    )["Instances"][0]["InstanceId"]

    iam = boto("iam")
    iam.create_role(
        RoleName="mensetsu-test-app", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )
    iam.attach_role_policy(
        RoleName="mensetsu-test-app", PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    )
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    iam.put_role_policy(RoleName="mensetsu-test-app", PolicyName="app-access", PolicyDocument=json.dumps(document))

    s3 = boto("s3")
    bucket = "mensetsu-test-media-123456789012"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    deny = {
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    policy = {"Version": "2012-10-17", "Statement": [deny]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    route53 = boto("route53", "us-east-1")
    zone = route53.create_hosted_zone(Name=ZONE_NAME, CallerReference="test")["HostedZone"]["Id"].rsplit("/", 1)[-1]
    records = [
        ("api." + ZONE_NAME + ".", "A", "192.0.2.1"),
        ("_abc." + ZONE_NAME + ".", "CNAME", "_xyz.abcdefgh.acm-validations.aws."),
    ]
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {"Name": n, "Type": t, "TTL": 60, "ResourceRecords": [{"Value": v}]},
                }
                for n, t, v in records
            ]
        },
    )

    elb = boto("elbv2")
    balancer = elb.create_load_balancer(Name="mensetsu-test-alb", Subnets=subnets, SecurityGroups=[groups[0]])
    balancer_arn = balancer["LoadBalancers"][0]["LoadBalancerArn"]
    target_group = elb.create_target_group(
        Name="mensetsu-test-api", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=target_group, Targets=[{"Id": instance, "Port": 8000}])
    listener = elb.create_listener(
        LoadBalancerArn=balancer_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )["Listeners"][0]["ListenerArn"]

    cloudfront = boto("cloudfront", "us-east-1")
    origin = {
        "Id": f"S3-{bucket}",
        "DomainName": f"{bucket}.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "mensetsu-test-static",
            "Comment": "mensetsu-test static site",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {
                "TargetOriginId": origin["Id"],
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )["Distribution"]["Id"]

    secrets = boto("secretsmanager")
    for name in ("db", "openai-api-key"):
        secrets.create_secret(Name=f"{PREFIX}/{name}", SecretString="x")
    secrets.create_secret(Name="mensetsu/testing/other-env", SecretString="x")  # another environment's prefix

    cloudwatch = boto("cloudwatch")
    alarm = {
        "AlarmName": "mensetsu-test-cpu",
        "MetricName": "CPUUtilization",
        "Namespace": "AWS/EC2",
        "Statistic": "Average",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 80.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()],
    }
    cloudwatch.put_metric_alarm(**alarm)
    # Another environment's alarm: not in scope.
    cloudwatch.put_metric_alarm(
        **{**alarm, "AlarmName": "mensetsu-prod-cpu", "Tags": [{"Key": "Environment", "Value": "prod"}]}
    )

    return {
        "environment": ENV,
        "stages": [],
        "vpc_id": vpc,
        "subnet_ids": subnets,
        "hosted_zone_id": zone,
        "buckets": [bucket],
        "role_name": "mensetsu-test-app",
        "secrets_prefix": PREFIX,
        "distribution_id": distribution,
        "tags": TAGS,
        "name_prefix": "mensetsu-test",
        "declared": {
            "security_groups": groups,
            "instances": [instance],
            "managed_policies": ["AmazonSSMManagedInstanceCore"],
            "inline_policies": ["app-access"],
            "bucket_policies": {bucket: json.dumps(policy)},
            "records": [f"api.{ZONE_NAME} A"],
            "origins": [origin["Id"]],
            "behaviors": ["*"],
            "secrets": [f"{PREFIX}/db", f"{PREFIX}/openai-api-key"],
            "alarms": ["mensetsu-test-cpu"],
            "dashboards": [],
        },
        "allow": [],
        "max_workers": 8,
        # test-only context, not module parameters
        "_balancer": balancer_arn,
        "_listener": listener,
        "_target_group": target_group,
        "_image": image,
    }


def make_extras(boto, params: dict) -> dict[str, str]:
    """One out-of-band extra of each kind; returns kind -> the id the scan must give it."""
    ec2, extras = boto("ec2"), {}
    vpc, subnets = params["vpc_id"], params["subnet_ids"]
    rogue = ec2.create_security_group(GroupName="by-hand", Description="made at the console", VpcId=vpc)["GroupId"]
    extras["security_group"] = rogue
    instance = ec2.run_instances(ImageId=params["_image"], MinCount=1, MaxCount=1, SubnetId=subnets[1])
    extras["instance"] = instance["Instances"][0]["InstanceId"]
    declared_instance = params["declared"]["instances"][0]
    primary = ec2.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [declared_instance]}]
    )
    primary_eni = primary["NetworkInterfaces"][0]
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=primary_eni["NetworkInterfaceId"],
        Groups=[g["GroupId"] for g in primary_eni["Groups"]] + [rogue],
    )
    extras["security_group_attachment"] = f"{primary_eni['NetworkInterfaceId']}/{rogue}"
    eni = ec2.create_network_interface(SubnetId=subnets[0], Description="debugging")["NetworkInterface"]
    extras["network_interface"] = eni["NetworkInterfaceId"]

    iam = boto("iam")
    iam.attach_role_policy(RoleName=params["role_name"], PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    extras["managed_policy"] = f"{params['role_name']}/arn:aws:iam::aws:policy/AdministratorAccess"
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=params["role_name"], PolicyName="debug", PolicyDocument=json.dumps(document))
    extras["inline_policy"] = f"{params['role_name']}/debug"

    s3, bucket = boto("s3"), params["buckets"][0]
    policy = json.loads(params["declared"]["bucket_policies"][bucket])
    statement = {"Sid": "PartnerRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}}
    statement |= {"Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({**policy, "Statement": [*policy["Statement"], statement]}))
    extras["bucket_policy_statement"] = f"{bucket}/PartnerRead"

    route53 = boto("route53", "us-east-1")
    record = {
        "Name": f"staging.{ZONE_NAME}.",
        "Type": "CNAME",
        "TTL": 300,
        "ResourceRecords": [{"Value": "example.org"}],
    }
    route53.change_resource_record_sets(
        HostedZoneId=params["hosted_zone_id"],
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )
    extras["record"] = f"staging.{ZONE_NAME} CNAME"

    # An extra listener, listener rule and target: not the scan's (elb_load_balancing reports them as
    # the load balancer's and the target group's drift); the scan must not name them.
    elb = boto("elbv2")
    forward = [{"Type": "forward", "TargetGroupArn": params["_target_group"]}]
    elb.create_listener(LoadBalancerArn=params["_balancer"], Protocol="HTTP", Port=8080, DefaultActions=forward)
    elb.create_rule(
        ListenerArn=params["_listener"],
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/admin/*"]}],
        Actions=forward,
    )
    elb.register_targets(TargetGroupArn=params["_target_group"], Targets=[{"Id": extras["instance"], "Port": 8000}])

    cloudfront, distribution = boto("cloudfront", "us-east-1"), params["distribution_id"]
    current = cloudfront.get_distribution_config(Id=distribution)
    config = current["DistributionConfig"]
    extra_origin = {
        "Id": "legacy-api",
        "DomainName": "legacy.example.org",
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
    }
    config["Origins"] = {"Quantity": 2, "Items": [*config["Origins"]["Items"], extra_origin]}
    behavior = {
        "PathPattern": "/legacy/*",
        "TargetOriginId": "legacy-api",
        "ViewerProtocolPolicy": "https-only",
        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    }
    config["CacheBehaviors"] = {"Quantity": 1, "Items": [behavior]}
    cloudfront.update_distribution(Id=distribution, IfMatch=current["ETag"], DistributionConfig=config)
    extras["origin"] = f"{distribution}/origin/legacy-api"
    extras["behavior"] = f"{distribution}/behavior//legacy/*"

    boto("secretsmanager").create_secret(Name=f"{PREFIX}/copied-by-hand", SecretString="x")
    extras["secret"] = f"{PREFIX}/copied-by-hand"

    cloudwatch = boto("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="someones-alarm",
        MetricName="Errors",
        Namespace="Custom",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
        Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
    )
    extras["alarm"] = "someones-alarm"
    # moto 5.2.5 cannot tag a dashboard (AWS can): this one is in scope by its name.
    cloudwatch.put_dashboard(DashboardName="mensetsu-test-debug", DashboardBody=json.dumps({"widgets": []}))
    cloudwatch.put_dashboard(DashboardName="mensetsu-prod", DashboardBody=json.dumps({"widgets": []}))
    extras["dashboard"] = "mensetsu-test-debug"
    return extras


def scan(module, boto, params: dict, **changes) -> tuple[list[dict], list[dict], list[str], int]:
    arguments = {key: value for key, value in {**params, **changes}.items() if not key.startswith("_")}
    return module.run_scan(
        arguments, lambda service, region=None: boto(service, region or "ap-northeast-1"), "ap-northeast-1"
    )


@pytest.fixture
def environment(aws, boto):
    return declared_environment(boto)


def test_a_declared_environment_has_nothing_unmanaged(aws, boto, environment):
    module = load_module()
    with aws.recording_requests() as requests:
        unmanaged, allowed, kinds, count = scan(module, boto, environment)
    assert unmanaged == [] and allowed == [], json.dumps(unmanaged, indent=1)
    assert set(kinds) == set(module.STAGE_OF), kinds
    assert requests and writes(requests) == [], [str(r) for r in writes(requests)]
    assert count == len(requests), (count, len(requests))
    # Listeners, rules and targets are elb_load_balancing's to compare: the scan reads no ELB API.
    assert not [r for r in requests if r.service == "elasticloadbalancing"], [str(r) for r in requests]


def test_each_kind_of_extra_is_named_with_its_way_out_and_nothing_is_written(aws, boto, environment):
    module = load_module()
    extras = make_extras(boto, environment)
    assert set(extras) == set(module.STAGE_OF), "one extra of every kind"
    with aws.recording_requests() as requests:
        unmanaged, _, _, _ = scan(module, boto, environment)
    assert writes(requests) == [], [str(r) for r in writes(requests)]
    found = {(item["kind"], item["id"]) for item in unmanaged}
    assert found == {(kind, ident) for kind, ident in extras.items()}, json.dumps(unmanaged, indent=1)
    for item in unmanaged:
        assert item["stage"] == module.STAGE_OF[item["kind"]] and item["description"], item
        assert item["remove"].startswith("aws "), item
        assert "drift_unmanaged_allow" in item["declare"] and "inventories/test/" in item["declare"], item
    by_kind = {item["kind"]: item for item in unmanaged}
    assert by_kind["security_group"]["remove"] == (
        f"aws ec2 delete-security-group --group-id {extras['security_group']} --region ap-northeast-1"
    )
    assert by_kind["managed_policy"]["remove"] == (
        "aws iam detach-role-policy --role-name mensetsu-test-app --policy-arn "
        "arn:aws:iam::aws:policy/AdministratorAccess"
    )
    # The bucket's fixing command keeps the declared statement and drops the extra one.
    kept = re.search(r"--policy '(.*)'$", by_kind["bucket_policy_statement"]["remove"]).group(1)
    assert [s["Sid"] for s in json.loads(kept)["Statement"]] == ["DenyPlainHttp"]
    assert '"Action":"DELETE"' in by_kind["record"]["remove"]

    # Removing the extras the way each item says (here with boto3) makes the scan clean again.
    ec2 = boto("ec2")
    eni, group = extras["security_group_attachment"].split("/")
    ec2.modify_network_interface_attribute(
        NetworkInterfaceId=eni, Groups=[environment["declared"]["security_groups"][1]]
    )
    boto("elbv2").deregister_targets(
        TargetGroupArn=environment["_target_group"], Targets=[{"Id": extras["instance"], "Port": 8000}]
    )
    ec2.terminate_instances(InstanceIds=[extras["instance"]])
    ec2.delete_network_interface(NetworkInterfaceId=extras["network_interface"])
    ec2.delete_security_group(GroupId=group)
    stages_left = ["iam", "storage", "dns", "edge", "secrets", "monitoring"]
    unmanaged, _, kinds, _ = scan(module, boto, environment, stages=["security", "network", "compute"])
    assert unmanaged == [], unmanaged
    assert "record" not in kinds, "only the stages asked for are read"
    still = {item["kind"] for item in scan(module, boto, environment, stages=stages_left)[0]}
    assert still == {
        "managed_policy",
        "inline_policy",
        "bucket_policy_statement",
        "record",
        "origin",
        "behavior",
        "secret",
        "alarm",
        "dashboard",
    }


def test_the_allow_list_hides_expected_extras_by_id_or_kind_and_pattern(aws, boto, environment):
    module = load_module()
    extras = make_extras(boto, environment)
    allow = [f"security_group:{extras['security_group'][:6]}*", "someones-alarm", "secret:mensetsu/test/copied-*"]
    allow += ["record:staging.*", "instance:i-nothing"]
    unmanaged, allowed, _, _ = scan(module, boto, environment, allow=allow)
    hidden = {(item["kind"], item["id"]) for item in allowed}
    assert hidden == {
        ("security_group", extras["security_group"]),
        ("alarm", "someones-alarm"),
        ("secret", extras["secret"]),
        ("record", extras["record"]),
    }, hidden
    assert not hidden & {(item["kind"], item["id"]) for item in unmanaged}
    assert ("instance", extras["instance"]) in {(item["kind"], item["id"]) for item in unmanaged}


def test_the_module_runs_in_check_mode_through_ansible(aws, boto, environment):
    """The module's arguments as a playbook gives them, in check mode: the same items, no write."""
    extras = make_extras(boto, environment)
    arguments = {key: value for key, value in environment.items() if not key.startswith("_")}
    with aws.recording_requests() as requests:
        run = run_playbook(
            "tests/modules/playbooks/aws_unmanaged_resources_info.yml",
            extra_vars={"scan": arguments},
            check=True,
            env=JSON_OUTPUT,
        )
    assert run.returncode == 0, str(run)
    result = task_result_json(run)
    assert result["changed"] is False and result["requests"] > 0
    assert {(item["kind"], item["id"]) for item in result["unmanaged"]} == set(extras.items())
    assert writes(requests) == [], [str(r) for r in writes(requests)]
