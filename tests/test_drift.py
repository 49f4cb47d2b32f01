"""The drift run against a moto server of its own, started the two ways operators start it: the
playbook alone (`ansible-playbook playbooks/drift.yml -i inventories/local`, as AWX, a cron line or
a person runs it, with the callback settings ansible-runner gives a job) and scripts/drift.sh.

On the converged stack the playbook alone with `--tags security` exits 0 and writes a clean
report. Then one out-of-band change per kind of resource the platform declares, made with boto3
as someone at the console would: the playbook alone FAILS, its last lines list each difference and
the fixing command, and the report names every changed resource the way AWS does (type, id, ARN,
region, console link), checked against the API; `--tags security` alone fails on the opened group;
the wrapper exits 2 for drift. A converge fixes everything: the playbook alone and the wrapper
exit 0 with a clean report (the playbook alone: zero mutating requests); an unreachable
endpoint fails (wrapper: 1) and says it is not a drift result. Every drift run sends zero mutating
requests, and every report validates against schemas/drift-report.schema.json.

Costly (two site.yml runs, two whole drift runs and five partial ones), so the stack is built
once for the module and the AWS tests run in file order. The callback's parsing and the workflow are tested without AWS.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.drift import VENV_BIN, DriftRun, run_drift, run_drift_playbook, validate_report
from tests.support.moto import REGION, REPO, MotoServer, closed_port, start_moto
from tests.support.naming import names
from tests.support.playbook import run_playbook
from tests.support.requests import writes

pytestmark = pytest.mark.stack  # converges a whole stack: not in make test-fast

PREFIX = "mensetsu-local"
NAMES = names(PREFIX)  # the naming map (group_vars/all/naming.yml)
ALARMS = NAMES["alarm_prefix"]  # alarms are <ALARMS>-<alarm>
INVENTORY = "inventories/local"
# The converges leave the static bucket's objects alone: the drift run does not compare them.
SKIP_STATIC = ("--skip-tags", "static")
ADMIN = "192.0.2.10/32"  # inventories/local admin_cidr
FIX = "ansible-playbook site.yml -i inventories/local"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    moto = start_moto(workdir=tmp_path_factory.mktemp("moto-drift"))
    try:
        built = run_playbook("site.yml", INVENTORY, env=moto.env, args=SKIP_STATIC)
        assert built.returncode == 0, str(built)
        yield moto
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("drift-reports")


@pytest.fixture(scope="module")
def client(server: MotoServer):
    return server.client


@pytest.fixture(scope="module")
def changed(client) -> dict[str, dict]:
    """The out-of-band changes (made once, by the first test that needs them)."""
    return make_drift(client)


def buckets_by_purpose(client) -> dict[str, str]:
    """The platform's buckets by their Purpose tag (names come from the settings, never hard-coded)."""
    s3 = client("s3")
    found = {}
    for bucket in s3.list_buckets()["Buckets"]:
        tags = {tag["Key"]: tag["Value"] for tag in s3.get_bucket_tagging(Bucket=bucket["Name"]).get("TagSet", [])}
        if tags.get("Project") == "mensetsu" and tags.get("Purpose"):
            found[tags["Purpose"]] = bucket["Name"]
    return found


def make_drift(client) -> dict[str, dict]:
    """One out-of-band change (or more) per kind of resource, as someone at the console would make
    them. Returns, per CloudFormation type, the identity the API gives the changed resource."""
    account = client("sts").get_caller_identity()["Account"]
    arn = f"arn:aws:{{}}:{REGION}:{account}:{{}}"
    expect: dict[str, dict] = {}
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [PREFIX]}])["Vpcs"][0]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": False})
    expect["AWS::EC2::VPC"] = {"id": vpc["VpcId"], "arn": arn.format("ec2", f"vpc/{vpc['VpcId']}")}

    # The audit trail's log file validation turned off, the VPC's flow log deleted (roles/aws_logs).
    cloudtrail = client("cloudtrail")
    cloudtrail.update_trail(Name=NAMES["trail"], EnableLogFileValidation=False)
    trail_arn = cloudtrail.get_trail(Name=NAMES["trail"])["Trail"]["TrailARN"]
    expect["AWS::CloudTrail::Trail"] = {"id": NAMES["trail"], "arn": trail_arn}
    flow_logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])["FlowLogs"]
    ec2.delete_flow_logs(FlowLogIds=[flow_log["FlowLogId"] for flow_log in flow_logs])
    expect["AWS::EC2::FlowLog"] = {"id": vpc["VpcId"], "arn": None}

    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    private = next(s for s in subnets if {"Key": "Tier", "Value": "private"} in s.get("Tags", []))
    ec2.modify_subnet_attribute(SubnetId=private["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    expect["AWS::EC2::Subnet"] = {"id": private["SubnetId"], "arn": private["SubnetArn"]}

    igw = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])
    igw_id = igw["InternetGateways"][0]["InternetGatewayId"]
    ec2.create_tags(Resources=[igw_id], Tags=[{"Key": "Name", "Value": "renamed-by-hand"}])
    expect["AWS::EC2::InternetGateway"] = {"id": igw_id, "arn": arn.format("ec2", f"internet-gateway/{igw_id}")}

    public_table = ec2.describe_route_tables(
        Filters=[*in_vpc, {"Name": "tag:Name", "Values": [NAMES["route_tables"]["public"]]}]
    )
    table_id = public_table["RouteTables"][0]["RouteTableId"]
    ec2.delete_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0")
    expect["AWS::EC2::RouteTable"] = {"id": table_id, "arn": arn.format("ec2", f"route-table/{table_id}")}

    endpoint = ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"][0]["VpcEndpointId"]
    ec2.create_tags(Resources=[endpoint], Tags=[{"Key": "Name", "Value": "renamed-by-hand"}])
    expect["AWS::EC2::VPCEndpoint"] = {"id": endpoint, "arn": arn.format("ec2", f"vpc-endpoint/{endpoint}")}

    groups = {g["GroupName"]: g for g in ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]}
    app_sg, db_sg = (
        groups[NAMES["security_groups"]["app"]]["GroupId"],
        groups[NAMES["security_groups"]["db"]]["GroupId"],
    )
    ec2.authorize_security_group_ingress(
        GroupId=app_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [db_sg]}])
    inbound = [rule["SecurityGroupRuleId"] for rule in rules["SecurityGroupRules"] if not rule["IsEgress"]]
    ec2.revoke_security_group_ingress(GroupId=db_sg, SecurityGroupRuleIds=inbound)
    expect["AWS::EC2::SecurityGroup"] = {
        "id": app_sg,
        "name": NAMES["security_groups"]["app"],
        "arn": arn.format("ec2", f"security-group/{app_sg}"),
        "db_sg": db_sg,
    }

    filters = [{"Name": "tag:Role", "Values": ["app"]}, {"Name": "instance-state-name", "Values": ["running"]}]
    instance = ec2.describe_instances(Filters=filters)["Reservations"][0]["Instances"][0]["InstanceId"]
    ec2.modify_instance_metadata_options(InstanceId=instance, HttpTokens="optional")
    ec2.modify_instance_attribute(InstanceId=instance, InstanceType={"Value": "t3.large"})
    expect["AWS::EC2::Instance"] = {"id": instance, "arn": arn.format("ec2", f"instance/{instance}")}

    key = ec2.describe_key_pairs()["KeyPairs"][0]["KeyName"]
    ec2.delete_key_pair(KeyName=key)
    expect["AWS::EC2::KeyPair"] = {"id": key, "arn": None}

    iam = client("iam")
    role = iam.get_role(RoleName=NAMES["app_role"])["Role"]
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    expect["AWS::IAM::Role"] = {"id": role["RoleName"], "arn": role["Arn"]}
    policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="app-access")["PolicyDocument"]
    policy["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="app-access", PolicyDocument=json.dumps(policy))
    expect["AWS::IAM::RolePolicy"] = {"id": f"{role['RoleName']}/app-access", "arn": None, "parent_arn": role["Arn"]}

    secrets = client("secretsmanager")
    secret = secrets.describe_secret(SecretId="mensetsu/local/openai-api-key")
    secrets.tag_resource(SecretId=secret["ARN"], Tags=[{"Key": "Owner", "Value": "someone"}])
    secrets.delete_secret(SecretId="mensetsu/local/heygen-api-key", ForceDeleteWithoutRecovery=True)
    expect["AWS::SecretsManager::Secret"] = {"id": secret["Name"], "arn": secret["ARN"]}

    rds = client("rds")
    db = rds.modify_db_instance(
        DBInstanceIdentifier=NAMES["db"], PubliclyAccessible=True, BackupRetentionPeriod=0, ApplyImmediately=True
    )["DBInstance"]
    expect["AWS::RDS::DBInstance"] = {"id": db["DBInstanceIdentifier"], "arn": db["DBInstanceArn"]}
    group = rds.describe_db_subnet_groups(DBSubnetGroupName=NAMES["db_subnet_group"])["DBSubnetGroups"][0]
    rds.modify_db_subnet_group(
        DBSubnetGroupName=group["DBSubnetGroupName"],
        DBSubnetGroupDescription="changed by hand",
        SubnetIds=[subnet["SubnetIdentifier"] for subnet in group["Subnets"]],
    )
    expect["AWS::RDS::DBSubnetGroup"] = {"id": group["DBSubnetGroupName"], "arn": group["DBSubnetGroupArn"]}
    # Connections no longer logged, set at the console (docs/security.md "Database logs and TLS").
    rds.modify_db_parameter_group(
        DBParameterGroupName=NAMES["db_parameter_group"],
        Parameters=[{"ParameterName": "log_connections", "ParameterValue": "0", "ApplyMethod": "immediate"}],
    )
    [parameter_group] = rds.describe_db_parameter_groups(DBParameterGroupName=NAMES["db_parameter_group"])[
        "DBParameterGroups"
    ]
    expect["AWS::RDS::DBParameterGroup"] = {
        "id": NAMES["db_parameter_group"],
        "arn": parameter_group["DBParameterGroupArn"],
    }

    redis = client("elasticache").modify_replication_group(
        ReplicationGroupId=NAMES["redis"], SnapshotRetentionLimit=5, ApplyImmediately=True
    )["ReplicationGroup"]
    expect["AWS::ElastiCache::ReplicationGroup"] = {"id": redis["ReplicationGroupId"], "arn": redis["ARN"]}

    s3 = client("s3")
    buckets = buckets_by_purpose(client)
    s3.delete_public_access_block(Bucket=buckets["media"])
    s3.put_bucket_versioning(Bucket=buckets["static-site"], VersioningConfiguration={"Status": "Suspended"})
    s3.delete_bucket_lifecycle(Bucket=buckets["media"])
    expect["AWS::S3::Bucket"] = {"id": buckets["media"], "arn": f"arn:aws:s3:::{buckets['media']}", **buckets}

    elb = client("elbv2")
    target_group = elb.describe_target_groups(Names=[NAMES["target_group"]])["TargetGroups"][0]
    elb.modify_target_group(TargetGroupArn=target_group["TargetGroupArn"], HealthCheckPath="/")
    expect["AWS::ElasticLoadBalancingV2::TargetGroup"] = {
        "id": NAMES["target_group"],
        "arn": target_group["TargetGroupArn"],
    }
    balancer = elb.describe_load_balancers(Names=[NAMES["alb"]])["LoadBalancers"][0]
    listener = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"][0]
    elb.modify_listener(ListenerArn=listener["ListenerArn"], SslPolicy="ELBSecurityPolicy-2016-08")
    expect["AWS::ElasticLoadBalancingV2::LoadBalancer"] = {"id": NAMES["alb"], "arn": balancer["LoadBalancerArn"]}

    acm = client("acm")
    certificate = acm.list_certificates()["CertificateSummaryList"][0]["CertificateArn"]
    acm.add_tags_to_certificate(CertificateArn=certificate, Tags=[{"Key": "Owner", "Value": "someone"}])
    expect["AWS::CertificateManager::Certificate"] = {"id": certificate, "arn": certificate}

    cloudfront = client("cloudfront", "us-east-1")
    controls = cloudfront.list_origin_access_controls()["OriginAccessControlList"]["Items"]
    control = cloudfront.get_origin_access_control(Id=controls[0]["Id"])
    config = control["OriginAccessControl"]["OriginAccessControlConfig"]
    cloudfront.update_origin_access_control(
        Id=controls[0]["Id"],
        IfMatch=control["ETag"],
        OriginAccessControlConfig={**config, "SigningBehavior": "no-override"},
    )
    expect["AWS::CloudFront::OriginAccessControl"] = {
        "id": controls[0]["Id"],
        "arn": f"arn:aws:cloudfront::{account}:origin-access-control/{controls[0]['Id']}",
    }
    summary = next(
        d
        for d in cloudfront.list_distributions()["DistributionList"]["Items"]
        if d["Comment"] == f"{PREFIX} static site"
    )
    current = cloudfront.get_distribution_config(Id=summary["Id"])
    config = current["DistributionConfig"]
    config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] = "allow-all"
    cloudfront.update_distribution(Id=summary["Id"], IfMatch=current["ETag"], DistributionConfig=config)
    expect["AWS::CloudFront::Distribution"] = {"id": summary["Id"], "arn": summary["ARN"]}

    # The CloudFront web ACL's rate limit raised by hand (docs/security.md "WAF").
    wafv2 = client("wafv2", "us-east-1")
    (acl_summary,) = wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"]
    acl = wafv2.get_web_acl(Name=acl_summary["Name"], Scope="CLOUDFRONT", Id=acl_summary["Id"])
    rules = acl["WebACL"]["Rules"]
    next(r for r in rules if r["Name"] == "rate-limit-per-ip")["Statement"]["RateBasedStatement"]["Limit"] = 100000
    wafv2.update_web_acl(
        Name=acl_summary["Name"],
        Scope="CLOUDFRONT",
        Id=acl_summary["Id"],
        DefaultAction=acl["WebACL"]["DefaultAction"],
        Rules=rules,
        VisibilityConfig=acl["WebACL"]["VisibilityConfig"],
        LockToken=acl["LockToken"],
    )
    expect["AWS::WAFv2::WebACL"] = {"id": acl_summary["Id"], "arn": acl_summary["ARN"], "region": "us-east-1"}

    route53 = client("route53", "us-east-1")
    zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == "local.mensetsu.example.com.")
    zone_id = zone["Id"].rsplit("/", 1)[-1]
    route53.update_hosted_zone_comment(Id=zone_id, Comment="changed by hand")
    expect["AWS::Route53::HostedZone"] = {"id": zone_id, "arn": f"arn:aws:route53:::hostedzone/{zone_id}"}
    api = {
        "Name": "api.local.mensetsu.example.com.",
        "Type": "A",
        "TTL": 60,
        "ResourceRecords": [{"Value": "198.51.100.7"}],
    }
    route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": api}]}
    )
    expect["AWS::Route53::RecordSet"] = {"id": "api.local.mensetsu.example.com A", "arn": None, "zone": zone_id}

    cloudwatch = client("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNamePrefix=f"{ALARMS}-")["MetricAlarms"][0]
    kept = ("AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "MetricName", "Namespace")
    kept += ("Statistic", "Dimensions", "Period", "EvaluationPeriods", "ComparisonOperator", "TreatMissingData")
    cloudwatch.put_metric_alarm(**{k: alarm[k] for k in kept if k in alarm}, Threshold=alarm["Threshold"] * 10)
    expect["AWS::CloudWatch::Alarm"] = {"id": alarm["AlarmName"], "arn": alarm["AlarmArn"]}

    # The operations dashboard: a widget retitled at the console.
    board = cloudwatch.get_dashboard(DashboardName=NAMES["dashboard"])
    body = json.loads(board["DashboardBody"])
    body["widgets"][0]["properties"]["title"] = "changed by hand"
    cloudwatch.put_dashboard(DashboardName=NAMES["dashboard"], DashboardBody=json.dumps(body))
    expect["AWS::CloudWatch::Dashboard"] = {"id": NAMES["dashboard"], "arn": board["DashboardArn"]}

    sns = client("sns")
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{NAMES['alert_topic']}")
    )
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="changed by hand")
    expect["AWS::SNS::Topic"] = {"id": NAMES["alert_topic"], "arn": topic}

    # The budget's amount raised in the console (UpdateBudget: the project's emulator answers it as
    # AWS does, tests/support/moto_aws.py), and one alert's subscribers emptied.
    budgets = client("budgets", "us-east-1")
    budget = budgets.describe_budget(AccountId=account, BudgetName=NAMES["budget"])["Budget"]
    budget.pop("CalculatedSpend", None)
    budgets.update_budget(AccountId=account, NewBudget={**budget, "BudgetLimit": {"Amount": "1000", "Unit": "USD"}})
    alert = budgets.describe_notifications_for_budget(AccountId=account, BudgetName=NAMES["budget"])["Notifications"][0]
    for subscriber in budgets.describe_subscribers_for_notification(
        AccountId=account, BudgetName=NAMES["budget"], Notification=alert
    )["Subscribers"]:
        budgets.delete_subscriber(
            AccountId=account, BudgetName=NAMES["budget"], Notification=alert, Subscriber=subscriber
        )
    expect["AWS::Budgets::Budget"] = {
        "id": budget["BudgetName"],
        "arn": f"arn:aws:budgets::{account}:budget/{budget['BudgetName']}",
        "account": account,
    }

    # Session Manager (inventories/local: admin_access both): the console saves preferences that log
    # nowhere as a new default version; the session log group keeps a day instead of 90.
    ssm = client("ssm")
    preferences = "SSM-SessionManagerRunShell"
    content = json.loads(ssm.get_document(Name=preferences)["Content"])
    content["inputs"]["cloudWatchLogGroupName"] = ""
    version = ssm.update_document(Name=preferences, Content=json.dumps(content), DocumentVersion="$LATEST")
    ssm.update_document_default_version(
        Name=preferences, DocumentVersion=version["DocumentDescription"]["DocumentVersion"]
    )
    expect["AWS::SSM::Document"] = {"id": preferences, "arn": arn.format("ssm", f"document/{preferences}")}
    client("logs").put_retention_policy(logGroupName=NAMES["ssm_session_log_group"], retentionInDays=1)
    expect["AWS::Logs::LogGroup"] = {
        "id": NAMES["ssm_session_log_group"],
        "arn": arn.format("logs", f"log-group:{NAMES['ssm_session_log_group']}"),
    }
    return expect


def drift_items_by_type(run: DriftRun, aws_type: str, resource_id: str) -> list[dict]:
    return [item for item in run.of_type(aws_type) if item["identity"]["id"] == resource_id]


def test_the_playbook_alone_with_tags_security_on_the_converged_stack_exits_0(server, reports):
    run = run_drift_playbook(server.env, reports, ("--tags", "security"))
    assert run.returncode == 0, str(run)
    assert run.report["status"] == "clean" and run.report["items"] == [], run.report
    assert "NO DRIFT" in run.tail(2)[0] and run.report["json"] in run.tail(1)[0], run.tail(5)
    assert "aws_security_groups : Create" in run.output and "aws_data : Create" not in run.output


def test_out_of_band_changes_fail_the_playbook_alone_and_name_each_resource_as_aws_does(
    server, client, reports, changed
):
    with server.recording_requests() as requests:
        run = run_drift_playbook(server.env, reports)
    assert run.returncode != 0, str(run)
    assert writes(requests) == [], [str(r) for r in writes(requests)]
    report = run.report
    assert report["status"] == "drift" and report["drift_count"] == len(report["items"]) > 0
    assert report["fix_command"] == FIX and FIX in run.markdown

    # The run's last lines: the verdict, one line per difference, the fix, the report's files.
    tail = run.tail(len(report["items"]) + 3)
    assert tail[0].startswith(f"DRIFT: {len(report['items'])} differences"), "\n".join(run.tail(20))
    assert tail[-2] == f"Fix: {FIX}" and tail[-1].startswith("Report: ") and report["json"] in tail[-1]
    for item in report["items"]:
        assert any(item["resource"] in line and (item["attribute"] or "-") in line for line in tail[1:-2]), item

    # Every kind of resource the platform declares: its entry carries the identity the API gives it.
    for aws_type, want in changed.items():
        found = drift_items_by_type(run, aws_type, want["id"])
        assert found, (aws_type, want["id"], sorted({i["resource"] for i in report["items"]}))
        identity = found[0]["identity"]
        assert identity["arn"] == want["arn"], (aws_type, identity)
        region = want.get("region") or ("global" if aws_type.split("::")[1] in GLOBAL else REGION)
        assert identity["region"] == region, identity
        assert identity["console"] and identity["console"].startswith("https://"), identity
        assert all(item["task"] for item in found), "the managing task stays as a secondary field"
    assert (
        drift_items_by_type(run, "AWS::IAM::RolePolicy", changed["AWS::IAM::RolePolicy"]["id"])[0]["identity"][
            "parent_arn"
        ]
        == changed["AWS::IAM::Role"]["arn"]
    )
    assert (
        changed["AWS::Route53::RecordSet"]["zone"] in run.of_type("AWS::Route53::RecordSet")[0]["identity"]["console"]
    )

    def only(aws_type: str, resource_id: str, attribute: str) -> dict:
        found = [
            item
            for item in drift_items_by_type(run, aws_type, resource_id)
            if item["attribute"] == attribute or item["attribute"].endswith("." + attribute)
        ]
        assert len(found) == 1, (aws_type, resource_id, attribute, json.dumps(report["items"], indent=1, default=str))
        return found[0]

    def declared_actual(aws_type: str, resource_id: str, attribute: str) -> tuple:
        item = only(aws_type, resource_id, attribute)
        return item["declared"], item["actual"]

    app_sg, db_sg = changed["AWS::EC2::SecurityGroup"]["id"], changed["AWS::EC2::SecurityGroup"]["db_sg"]
    opened = only("AWS::EC2::SecurityGroup", app_sg, "ip_permissions")
    assert "tcp 22 from 0.0.0.0/0" in opened["extra"] and opened["severity"] == "critical", opened
    assert opened["category"] == "network exposure"
    assert only("AWS::EC2::SecurityGroup", db_sg, "ip_permissions")["missing"] == [f"tcp 5432 from {app_sg}"]
    media, static = changed["AWS::S3::Bucket"]["media"], changed["AWS::S3::Bucket"]["static-site"]
    assert declared_actual("AWS::S3::Bucket", media, "public_access.block_public_acls") == (True, False)
    assert declared_actual("AWS::S3::Bucket", static, "versioning") == ("Enabled", "Suspended")
    lifecycle = "lifecycle_rules[expire-noncurrent-and-abort-uploads]"
    assert declared_actual("AWS::S3::Bucket", media, lifecycle)[1] is None
    db = changed["AWS::RDS::DBInstance"]["id"]
    assert declared_actual("AWS::RDS::DBInstance", db, "backup_retention_period") == (1, 0)
    assert declared_actual("AWS::RDS::DBInstance", db, "publicly_accessible") == (False, True)
    parameter_group = changed["AWS::RDS::DBParameterGroup"]["id"]
    assert declared_actual("AWS::RDS::DBParameterGroup", parameter_group, "log_connections") == ("1", "0")
    distribution = changed["AWS::CloudFront::Distribution"]["id"]
    viewer = declared_actual("AWS::CloudFront::Distribution", distribution, "ViewerProtocolPolicy")
    assert viewer == ("redirect-to-https", "allow-all")
    acl = changed["AWS::WAFv2::WebACL"]["id"]
    rate = declared_actual("AWS::WAFv2::WebACL", acl, "Rules.rate-limit-per-ip.Statement.RateBasedStatement.Limit")
    assert rate == (2000, 100000)
    instance = changed["AWS::EC2::Instance"]["id"]
    assert declared_actual("AWS::EC2::Instance", instance, "metadata_options.http_tokens") == ("required", "optional")
    assert declared_actual("AWS::EC2::Instance", instance, "instance_type") == ("t3.medium", "t3.large")
    assert declared_actual("AWS::Route53::RecordSet", "api.local.mensetsu.example.com A", "value")[1] == "198.51.100.7"
    session_logs = declared_actual("AWS::SSM::Document", "SSM-SessionManagerRunShell", "cloudWatchLogGroupName")
    assert session_logs == (NAMES["ssm_session_log_group"], "")
    assert declared_actual("AWS::Logs::LogGroup", NAMES["ssm_session_log_group"], "retention_days") == (90, 1)
    target_group = changed["AWS::ElasticLoadBalancingV2::TargetGroup"]["id"]
    health = declared_actual("AWS::ElasticLoadBalancingV2::TargetGroup", target_group, "health_check_path")
    assert health == ("/health", "/")
    balancer = changed["AWS::ElasticLoadBalancingV2::LoadBalancer"]["id"]
    tls = declared_actual("AWS::ElasticLoadBalancingV2::LoadBalancer", balancer, "listener 443.ssl_policy")
    assert tls[1] == "ELBSecurityPolicy-2016-08" and tls[0] != tls[1]
    assert (
        only("AWS::ElasticLoadBalancingV2::LoadBalancer", balancer, "listener 443.ssl_policy")["category"]
        == "encryption"
    )
    missing = declared_actual(
        "AWS::SecretsManager::Secret", "mensetsu/local/heygen-api-key", "secret[mensetsu/local/heygen-api-key]"
    )
    assert missing == ("present", "absent")
    hidden = [item for item in report["items"] if item.get("secret")]
    assert all(item["declared"] == item["actual"] == "(hidden: no_log)" for item in hidden)

    # The Markdown: one section per resource, most security-relevant first, each with its severity.
    sections = [line for line in run.markdown.splitlines() if line.startswith("## ")]
    assert sections[0].startswith("## critical: "), sections
    severities = [line.split(":")[0].removeprefix("## ") for line in sections]
    assert severities == sorted(severities, key=("critical", "high", "medium", "low").index), severities
    assert f"## critical: AWS::EC2::SecurityGroup {app_sg} ({NAMES['security_groups']['app']})" in sections
    assert len(sections) == len({item["resource"] for item in report["items"]})
    assert "| Severity | Category | Attribute | Declared | Actual |" in run.markdown
    assert "[console](https://" in run.markdown


# Services whose resources have no region (their ARN has none; the console is us-east-1's).
GLOBAL = {"IAM", "Route53", "CloudFront", "Budgets"}


def test_tags_security_alone_fails_on_the_opened_group_and_the_wrapper_exits_2(server, reports, changed):
    app_sg = changed["AWS::EC2::SecurityGroup"]["id"]
    direct = run_drift_playbook(server.env, reports, ("--tags", "security"))
    assert direct.returncode != 0, str(direct)
    # The groups need the VPC: --tags security compares the network too (as a converge needs it).
    network = {"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::InternetGateway", "AWS::EC2::RouteTable"}
    network |= {"AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroup"}
    assert {item["identity"]["type"] for item in direct.report["items"]} <= network, direct.report["items"]
    assert direct.items(app_sg, "ip_permissions"), direct.report["items"]
    assert any(app_sg in line and "0.0.0.0/0" in line for line in direct.tail(10)), "\n".join(direct.tail(10))
    wrapped = run_drift(server.env, reports, ("--tags", "security"))
    assert wrapped.returncode == 2, str(wrapped)
    assert wrapped.report["status"] == "drift"


def test_no_secret_value_reaches_the_report(server, client, reports, changed):
    secrets = client("secretsmanager")
    values = [
        json.loads(secrets.get_secret_value(SecretId=f"mensetsu/local/{name}")["SecretString"])[key]
        for name, key in (("db", "password"), ("redis", "auth_token"))
    ]
    for path in reports.glob("drift-*"):
        text = path.read_text()
        assert not any(value in text for value in values), path


def test_after_a_converge_the_playbook_alone_and_the_wrapper_exit_0_with_an_empty_report(
    server, client, reports, changed
):
    # The converge restores IMDSv2 and the instance type itself (library/ec2_app_hosts; the
    # collection's ec2_instance could not apply metadata options on moto).
    fixed = run_playbook("site.yml", INVENTORY, env=server.env, args=SKIP_STATIC)
    assert fixed.returncode == 0, str(fixed)
    with server.recording_requests() as requests:
        run = run_drift_playbook(server.env, reports)
    assert run.returncode == 0, str(run) + json.dumps(run.report.get("items"), indent=1, default=str)
    assert run.report["status"] == "clean" and run.report["items"] == [], run.report
    assert run.report["account"] == "123456789012" and run.report["region"] == REGION
    assert "NO DRIFT" in run.tail(2)[0] and run.report["json"] in run.tail(1)[0], run.tail(5)
    assert "No drift" in run.markdown
    assert requests, "the drift run read nothing: it did not look at the stack"
    assert writes(requests) == [], [str(r) for r in writes(requests)]
    wrapped = run_drift(server.env, reports, ("--tags", "security"))
    assert wrapped.returncode == 0, str(wrapped)
    assert wrapped.report["status"] == "clean" and "No drift" in wrapped.markdown


# --- What nobody declared (issue 20) -----------------------------------------------------------
# On the stack the converge above left clean: one out-of-band extra of every kind the unmanaged scan
# covers, made with boto3 as someone at the console would, all found by ONE drift run (a run costs
# 30-60 s under load); then the allow-list with drift_notify on; then the extras removed: clean.


@pytest.fixture(scope="module")
def extras(client) -> dict[str, str]:
    """kind -> the id the report must give the extra (made once, by the first test that needs them)."""
    return make_extras(client)


STAGING_RECORD = {
    "Name": "staging.local.mensetsu.example.com.",
    "Type": "CNAME",
    "TTL": 300,
    "ResourceRecords": [{"Value": "example.org"}],
}


def make_extras(client) -> dict[str, str]:
    found: dict[str, str] = {}
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [PREFIX]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    private = next(s["SubnetId"] for s in subnets if {"Key": "Tier", "Value": "private"} in s.get("Tags", []))
    group = ec2.create_security_group(GroupName="by-hand", Description="made at the console", VpcId=vpc)["GroupId"]
    found["security_group"] = group
    filters = [{"Name": "tag:Role", "Values": ["app"]}, {"Name": "instance-state-name", "Values": ["running"]}]
    app = ec2.describe_instances(Filters=filters)["Reservations"][0]["Instances"][0]
    primary = next(i for i in app["NetworkInterfaces"] if i["Attachment"]["DeviceIndex"] == 0)
    groups = [g["GroupId"] for g in primary["Groups"]]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=primary["NetworkInterfaceId"], Groups=[*groups, group])
    found["security_group_attachment"] = f"{primary['NetworkInterfaceId']}/{group}"
    extra = ec2.run_instances(ImageId=app["ImageId"], MinCount=1, MaxCount=1, SubnetId=private, InstanceType="t3.micro")
    found["instance"] = extra["Instances"][0]["InstanceId"]
    eni = ec2.create_network_interface(SubnetId=private, Description="debugging")["NetworkInterface"]
    found["network_interface"] = eni["NetworkInterfaceId"]

    iam, role = client("iam"), NAMES["app_role"]
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    found["managed_policy"] = f"{role}/arn:aws:iam::aws:policy/ReadOnlyAccess"
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    iam.put_role_policy(
        RoleName=role,
        PolicyName="debug",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    found["inline_policy"] = f"{role}/debug"

    s3, media = client("s3"), buckets_by_purpose(client)["media"]
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=media)["Policy"])
    except s3.exceptions.ClientError:  # NoSuchBucketPolicy: inventories/local has s3_deny_plain_http false
        policy = {"Version": "2012-10-17", "Statement": []}
    partner = {"Sid": "PartnerRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}}
    partner |= {"Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{media}/*"}
    s3.put_bucket_policy(Bucket=media, Policy=json.dumps({**policy, "Statement": [*policy["Statement"], partner]}))
    found["bucket_policy_statement"] = f"{media}/PartnerRead"

    route53 = client("route53", "us-east-1")
    zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == "local.mensetsu.example.com.")
    change = {"Action": "CREATE", "ResourceRecordSet": STAGING_RECORD}
    route53.change_resource_record_sets(HostedZoneId=zone["Id"], ChangeBatch={"Changes": [change]})
    found["record"] = "staging.local.mensetsu.example.com CNAME"

    # A listener, a listener rule and a target added by hand: the load balancer's and the target
    # group's drift (library/elb_load_balancing compares every one), never unmanaged items too.
    elb = client("elbv2")
    balancer = elb.describe_load_balancers(Names=[NAMES["alb"]])["LoadBalancers"][0]["LoadBalancerArn"]
    target_group = elb.describe_target_groups(Names=[NAMES["target_group"]])["TargetGroups"][0]["TargetGroupArn"]
    forward = [{"Type": "forward", "TargetGroupArn": target_group}]
    elb.create_listener(LoadBalancerArn=balancer, Protocol="HTTP", Port=8080, DefaultActions=forward)
    https = elb.describe_listeners(LoadBalancerArn=balancer)["Listeners"]
    https_arn = next(listener["ListenerArn"] for listener in https if listener["Port"] == 443)
    condition = [{"Field": "path-pattern", "Values": ["/admin/*"]}]
    elb.create_rule(ListenerArn=https_arn, Priority=10, Conditions=condition, Actions=forward)
    elb.register_targets(TargetGroupArn=target_group, Targets=[{"Id": found["instance"], "Port": 8000}])

    cloudfront = client("cloudfront", "us-east-1")
    summary = next(
        d
        for d in cloudfront.list_distributions()["DistributionList"]["Items"]
        if d["Comment"] == f"{PREFIX} static site"
    )
    current = cloudfront.get_distribution_config(Id=summary["Id"])
    config = current["DistributionConfig"]
    legacy = {"Id": "legacy-api", "DomainName": "legacy.example.org"}
    legacy["CustomOriginConfig"] = {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}
    config["Origins"] = {"Quantity": 2, "Items": [*config["Origins"]["Items"], legacy]}
    behavior = {"PathPattern": "/legacy/*", "TargetOriginId": "legacy-api", "ViewerProtocolPolicy": "https-only"}
    behavior["CachePolicyId"] = (
        config["DefaultCacheBehavior"].get("CachePolicyId") or "658327ea-f89d-4fab-a63d-7e88639e58f6"
    )
    config["CacheBehaviors"] = {"Quantity": 1, "Items": [behavior]}
    cloudfront.update_distribution(Id=summary["Id"], IfMatch=current["ETag"], DistributionConfig=config)
    found["origin"] = f"{summary['Id']}/origin/legacy-api"
    found["behavior"] = f"{summary['Id']}/behavior//legacy/*"

    client("secretsmanager").create_secret(Name="mensetsu/local/copied-by-hand", SecretString="x")
    found["secret"] = "mensetsu/local/copied-by-hand"

    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="someones-alarm",
        MetricName="Errors",
        Namespace="Custom",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
        Tags=[{"Key": "Project", "Value": "mensetsu"}, {"Key": "Environment", "Value": "local"}],
    )
    found["alarm"] = "someones-alarm"
    # moto 5.2.5 cannot tag a dashboard (AWS can): this one is the environment's by its name.
    cloudwatch.put_dashboard(DashboardName=f"{PREFIX}-debug", DashboardBody=json.dumps({"widgets": []}))
    found["dashboard"] = f"{PREFIX}-debug"
    return found


def remove_extras(client, found: dict[str, str]) -> None:
    """Each extra removed the way its report item says (here with boto3)."""
    ec2, elb = client("ec2"), client("elbv2")
    eni, group = found["security_group_attachment"].split("/")
    groups = [
        g["GroupId"]
        for g in ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["Groups"]
    ]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=[g for g in groups if g != group])
    target_group = elb.describe_target_groups(Names=[NAMES["target_group"]])["TargetGroups"][0]["TargetGroupArn"]
    elb.deregister_targets(TargetGroupArn=target_group, Targets=[{"Id": found["instance"], "Port": 8000}])
    ec2.terminate_instances(InstanceIds=[found["instance"]])
    ec2.delete_network_interface(NetworkInterfaceId=found["network_interface"])
    ec2.delete_security_group(GroupId=group)
    iam, role = client("iam"), NAMES["app_role"]
    iam.detach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.delete_role_policy(RoleName=role, PolicyName="debug")
    s3, media = client("s3"), buckets_by_purpose(client)["media"]
    policy = json.loads(s3.get_bucket_policy(Bucket=media)["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "PartnerRead"]
    if policy["Statement"]:
        s3.put_bucket_policy(Bucket=media, Policy=json.dumps(policy))
    else:
        s3.delete_bucket_policy(Bucket=media)
    route53 = client("route53", "us-east-1")
    zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == "local.mensetsu.example.com.")
    change = {"Action": "DELETE", "ResourceRecordSet": STAGING_RECORD}
    route53.change_resource_record_sets(HostedZoneId=zone["Id"], ChangeBatch={"Changes": [change]})
    balancer = elb.describe_load_balancers(Names=[NAMES["alb"]])["LoadBalancers"][0]["LoadBalancerArn"]
    for listener in elb.describe_listeners(LoadBalancerArn=balancer)["Listeners"]:
        if listener["Port"] != 443:
            elb.delete_listener(ListenerArn=listener["ListenerArn"])
            continue
        for rule in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
            if not rule["IsDefault"]:
                elb.delete_rule(RuleArn=rule["RuleArn"])
    cloudfront = client("cloudfront", "us-east-1")
    distribution = found["origin"].split("/", 1)[0]
    current = cloudfront.get_distribution_config(Id=distribution)
    config = current["DistributionConfig"]
    config["Origins"]["Items"] = [o for o in config["Origins"]["Items"] if o["Id"] != "legacy-api"]
    config["Origins"]["Quantity"] = len(config["Origins"]["Items"])
    config["CacheBehaviors"] = {"Quantity": 0, "Items": []}
    cloudfront.update_distribution(Id=distribution, IfMatch=current["ETag"], DistributionConfig=config)
    client("secretsmanager").delete_secret(SecretId=found["secret"], ForceDeleteWithoutRecovery=True)
    cloudwatch = client("cloudwatch")
    cloudwatch.delete_alarms(AlarmNames=[found["alarm"]])
    cloudwatch.delete_dashboards(DashboardNames=[found["dashboard"]])


def test_every_kind_of_unmanaged_extra_is_named_with_its_way_out_and_nothing_is_written(server, reports, extras):
    # Every item's attribution asked (the extras and the resources they make differ, such as the app
    # host whose interface got a group: more than the default limit of 20 a run).
    with server.recording_requests() as requests:
        run = run_drift(server.env, reports, ("-e", "drift_attribution_max_lookups=60"))
    assert run.returncode == 2, str(run)
    assert writes(requests) == [], [str(r) for r in writes(requests)]
    assert any(r.action == "LookupEvents" for r in requests), "the attribution asked CloudTrail (read-only)"
    report = run.report
    assert report["status"] == "drift" and report["unmanaged_count"] == len(report["unmanaged"])
    found = {(item["kind"], item["id"]) for item in report["unmanaged"]}
    assert set(extras.items()) <= found, (set(extras.items()) - found, json.dumps(report["unmanaged"], indent=1))
    assert found == set(extras.items()), found - set(extras.items())
    # The extra listener, its rule and target are the load balancer's and the target group's drift,
    # reported once (elb_load_balancing), not unmanaged items as well.
    balancer = [i["attribute"] for i in report["items"] if i["identity"]["id"] == NAMES["alb"]]
    assert any(a.startswith("listener 8080") for a in balancer), balancer
    assert any(a.startswith("listener 443.rules") for a in balancer), balancer
    group = [i["attribute"] for i in report["items"] if i["identity"]["id"] == NAMES["target_group"]]
    assert any(a.startswith("targets") for a in group), group
    for item in report["unmanaged"]:
        assert item["remove"].startswith("aws ") and "inventories/local/" in item["declare"], item
        # The emulator has no LookupEvents: every item says why it has no attribution.
        assert item["attribution"]["status"] == "unavailable", item["attribution"]
        assert "moto 5.2.5 has no LookupEvents" in item["attribution"]["reason"], item["attribution"]
    # The report leads with the stages, then the differences, then the unmanaged resources.
    text = run.markdown
    assert text.index("**By stage**") < text.index("# Unmanaged resources: local"), text[:3000]
    for stage in ("security", "network", "compute", "iam", "storage", "dns", "edge", "secrets", "monitoring"):
        assert f"- **{stage}**: " in text, stage
        assert any(entry["stage"] == stage and entry["unmanaged"] for entry in report["stages"]), stage
    if report["items"]:
        assert text.index("**By stage**") < text.index("\n## ") < text.index("# Unmanaged resources")
    for kind, ident in extras.items():
        assert f"### {next(i['stage'] for i in report['unmanaged'] if i['kind'] == kind)}: {kind} {ident}" in text
    stage_fix = next(e for e in report["stages"] if e["differences"]) if report["items"] else None
    if stage_fix:
        assert stage_fix["fix_command"] == f"{FIX} --tags {stage_fix['stage']}"
    # The playbook's verdict (before the Markdown the wrapper prints) lists them before the differences.
    verdict = run.stdout[run.stdout.rindex("UNMANAGED: ") :]
    assert verdict.index("UNMANAGED: ") < verdict.index("DRIFT: "), verdict[:2000]


def test_an_allow_listed_extra_is_not_reported_and_drift_notify_publishes_once(server, reports, extras):
    allow = json.dumps(
        {"drift_unmanaged_allow": ["secret:mensetsu/local/copied-*", extras["security_group"]], "drift_notify": True}
    )
    with server.recording_requests() as requests:
        run = run_drift(server.env, reports, ("-e", allow))
    assert run.returncode == 2, str(run)
    reported = {(item["kind"], item["id"]) for item in run.report["unmanaged"]}
    assert ("secret", extras["secret"]) not in reported and ("security_group", extras["security_group"]) not in reported
    # The allowed group's attachment is expected with it (an entry matches an id's last part too).
    assert ("security_group_attachment", extras["security_group_attachment"]) not in reported
    assert ("alarm", extras["alarm"]) in reported and run.report["allowed_count"] == 3
    published = writes(requests)
    assert [(r.service, r.action) for r in published] == [("sns", "Publish")], [str(r) for r in published]


def test_with_the_extras_removed_drift_is_clean_again(server, client, reports, extras):
    remove_extras(client, extras)
    run = run_drift_playbook(server.env, reports)
    assert run.returncode == 0, str(run) + json.dumps(run.report.get("unmanaged"), indent=1, default=str)
    assert run.report["status"] == "clean" and run.report["unmanaged"] == [] and run.report["items"] == []


def test_a_failed_run_fails_and_never_reads_as_no_drift(reports):
    with closed_port() as port:  # held: no server started meanwhile can answer there
        env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1"}
        run = run_drift(env, reports)
        direct = run_drift_playbook(env, reports)
    assert run.returncode == 1, str(run)
    assert run.report["status"] == "failed" and run.report["failures"], run.report
    assert "does NOT say there is no drift" in run.markdown
    assert direct.returncode != 0, str(direct)
    assert direct.report["status"] == "failed"
    assert any("NOT a drift result" in line for line in direct.tail(8)), "\n".join(direct.tail(8))


def test_every_report_written_matches_the_schema(reports):
    written = sorted(reports.glob("drift-*.json"))
    assert written, "no report was written"
    for path in written:
        validate_report(json.loads(path.read_text()))


def test_drift_yml_compares_the_same_roles_as_provision_yml():
    def roles(path: str) -> list[tuple[str, str]]:
        plays = yaml.safe_load((Path(REPO) / path).read_text())
        play = next(p for p in plays if "tasks" in p and p.get("hosts") == "localhost" and "aws_env" in str(p))
        return [
            (task["ansible.builtin.import_role"]["name"], task["ansible.builtin.import_role"].get("tasks_from", "main"))
            for task in play["tasks"]
            if "ansible.builtin.import_role" in task
        ]

    assert roles("playbooks/drift.yml") == roles("playbooks/provision.yml")
    drift = yaml.safe_load((Path(REPO) / "playbooks/drift.yml").read_text())
    assert all(play.get("check_mode") is True for play in drift if "hosts" in play), "a play could write"


def load_callback():
    spec = importlib.util.spec_from_file_location("drift_report", Path(REPO) / "plugins/callback/drift_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_security_group_diff_becomes_rules_with_the_extra_one_named():
    callback = load_callback()
    rule = {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "user_id_group_pairs": []}
    before = {
        "group_id": "sg-1",
        "ip_permissions": [{**rule, "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}, {"cidr_ip": ADMIN}]}],
    }
    after = {"ip_permissions": [{**rule, "from_port": "22", "to_port": "22", "ip_ranges": [{"cidr_ip": ADMIN}]}]}
    items = callback.diff_items({"before": before, "after": after})
    assert items == [
        {
            "attribute": "ip_permissions",
            "declared": [f"tcp 22 from {ADMIN}"],
            "actual": ["tcp 22 from 0.0.0.0/0", f"tcp 22 from {ADMIN}"],
            "missing": [],
            "extra": ["tcp 22 from 0.0.0.0/0"],
        }
    ], "group_id is only on the actual side: not declared, not drift"


def test_a_no_log_result_says_that_something_differs_and_nothing_else():
    callback = load_callback()
    censored = {"changed": True, "_ansible_no_log": True, "censored": "the output has been hidden"}
    assert callback.result_items(censored) == [
        {"attribute": "", "declared": "(hidden: no_log)", "actual": "(hidden: no_log)", "secret": True}
    ]


def test_a_change_without_a_diff_is_explained_by_the_arguments_that_differ():
    callback = load_callback()
    result = {
        "changed": True,
        "backup_retention_period": 0,
        "tags": {"Name": "db"},
        "instances": [{"instance_type": "t3.large", "security_groups": [{"group_id": "sg-1"}]}],
        "invocation": {
            "module_args": {
                "backup_retention_period": 1,
                "tags": {"Name": "db"},
                "instance_type": "t3.medium",
                "security_groups": ["sg-1"],
                "master_user_password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
                "wait": True,
            }
        },
    }
    assert callback.result_items(result) == [
        {"attribute": "backup_retention_period", "declared": 1, "actual": 0},
        {"attribute": "instance_type", "declared": "t3.medium", "actual": "t3.large"},
    ]
    unexplained = callback.result_items({"changed": True, "invocation": {"module_args": {"name": "x"}}})
    assert unexplained[0]["declared"] == callback.NO_DIFF


def test_a_hand_edited_file_is_reported_by_its_path_and_the_lines_that_differ():
    callback = load_callback()
    declared = "[Service]\nUser=app\nNoNewPrivileges=yes\nProtectSystem=strict\n"
    actual = "[Service]\nUser=app\nNoNewPrivileges=no\nProtectSystem=strict\nEnvironment=DEBUG=1\n"
    diff = {
        "before": actual,
        "after": declared,
        "before_header": "/etc/systemd/system/interview-api.service",
        "after_header": "/root/.ansible/tmp/ansible-local-1/tmpabc/service.j2",
    }
    assert callback.diff_items(diff) == [
        {
            "attribute": "content of /etc/systemd/system/interview-api.service",
            "declared": "3: NoNewPrivileges=yes",
            "actual": "3: NoNewPrivileges=no\n5: Environment=DEBUG=1",
        }
    ]
    assert callback.diff_items({**diff, "before": ""})[0]["actual"] == "(absent)", "a removed file"
    assert callback.diff_items({**diff, "before": declared}) == []


def test_a_stopped_or_disabled_service_is_reported_with_its_declared_and_actual_state():
    callback = load_callback()
    started = {
        "changed": True,
        "name": "interview-api.service",
        "status": {"ActiveState": "inactive", "UnitFileState": "enabled"},
        "invocation": {"module_args": {"name": "interview-api.service", "state": "started", "enabled": None}},
    }
    assert callback.result_items(started, "ansible.builtin.systemd_service") == [
        {"attribute": "interview-api.service state", "declared": "active", "actual": "inactive"}
    ]
    enabled = {
        **started,
        "status": {"ActiveState": "active", "UnitFileState": "disabled"},
        "invocation": {"module_args": {"name": "interview-api.service", "state": None, "enabled": True}},
    }
    assert callback.result_items(enabled, "ansible.legacy.systemd_service") == [
        {"attribute": "interview-api.service enabled", "declared": "enabled", "actual": "disabled"}
    ]


def test_a_failed_report_says_it_is_not_a_clean_result():
    callback = load_callback()
    report = {
        "environment": "dev",
        "status": "failed",
        "started": "s",
        "finished": "f",
        "items": [],
        "failures": [{"host": "localhost", "task": "Read the caller's identity", "message": "no credentials"}],
        "fix_command": "ansible-playbook site.yml -i inventories/dev",
        "json": "reports/x.json",
    }
    text = callback.markdown(report)
    assert "does NOT say there is no drift" in text and "no credentials" in text and "No drift" not in text


def test_the_workflow_is_a_valid_github_workflow_that_fails_on_drift():
    workflow = Path(REPO) / ".github/workflows/drift.yml"
    checker = VENV_BIN / "check-jsonschema"
    if not checker.exists():
        pytest.skip("check-jsonschema is not installed (requirements.txt pins it): the workflow's schema is unchecked")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = yaml.safe_load(workflow.read_text())
    assert document[True]["schedule"][0]["cron"]  # PyYAML reads the key `on` as True
    job = document["jobs"]["drift"]
    assert job["strategy"]["matrix"]["env"] == ["dev", "prod"]
    assert document["permissions"]["id-token"] == "write"
    steps = {step.get("name"): step for step in job["steps"]}
    assert "role-to-assume" in steps["Assume the read-only drift role"]["with"]
    run_step = next(step for step in job["steps"] if "scripts/drift.sh" in step.get("run", ""))
    assert "continue-on-error" not in run_step, "exit 2 must fail the job"
    upload = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"


# Modules of the provisioning roles that only read, or whose results are no AWS resource.
# Read-only modules (no resource of their own) and the static upload (publish, not drift).
NOT_RESOURCES = {"aws_account_info", "aws_az_info", "s3_static_sync", "ec2_subnet_zones"}
NOT_RESOURCES |= {"aws_long_creations_wait"}  # reads only: it waits for what rds_instance and others created


def test_every_module_that_manages_a_resource_has_its_aws_identity_mapped():
    """A module added to a role without a KINDS entry would report its differences as `unknown`
    (which the schema refuses): this names it before a drift run does."""
    callback = load_callback()
    roles = ("aws_network", "aws_logs", "aws_security_groups", "aws_iam", "aws_secrets", "aws_data", "aws_storage")
    roles += ("aws_dns", "aws_certificates", "aws_edge", "aws_compute", "aws_monitoring", "aws_budget")
    used = set()
    for role in roles:
        for path in (Path(REPO) / "roles" / role / "tasks").glob("*.yml"):
            for task in yaml.safe_load(path.read_text()) or []:
                used |= {
                    key.rsplit(".", 1)[-1]
                    for key in task
                    if "." in key or (Path(REPO) / "library" / f"{key}.py").exists()
                }
    drift = yaml.safe_load((Path(REPO) / "playbooks/drift.yml").read_text())
    for play in drift:
        for task in play.get("tasks", []):
            used |= {key for key in task if (Path(REPO) / "library" / f"{key}.py").exists()}
    managing = {name for name in used if not name.endswith("_info")} - NOT_RESOURCES
    managing = {name for name in managing if not name.startswith(("set_fact", "assert", "include_", "import_"))}
    managing -= {"debug", "fail", "meta", "async_status", "template", "set_stats", "pause"}
    by_result = callback.KINDS_BY_RESULT  # modules whose results each name their kind (drift_kind)
    assert {kind for kinds in by_result.values() for kind in kinds} <= set(callback.KINDS)
    assert managing - set(callback.KINDS) - set(by_result) == set(), managing - set(callback.KINDS) - set(by_result)


def test_the_cache_subnet_group_is_named_from_what_its_module_returns():
    """moto has no ModifyCacheSubnetGroup, so no out-of-band change reaches this kind on the
    emulator: its entry is checked on the result community.aws.elasticache_subnet_group returns
    (its RETURN documentation) for a changed description."""
    callback = load_callback()
    arn = "arn:aws:elasticache:ap-northeast-1:123456789012:subnetgroup:mensetsu-dev-redis"
    result = {
        "changed": True,
        "cache_subnet_group": {"arn": arn, "name": "mensetsu-dev-redis", "description": "changed by hand"},
        "invocation": {
            "module_args": {"name": "mensetsu-dev-redis", "description": "mensetsu-dev Redis, private subnets"}
        },
    }
    context = {"account": "123456789012", "partition": "aws", "region": "ap-northeast-1"}
    identity = callback.aws_identity("community.aws.elasticache_subnet_group", result, context, {})
    assert identity["type"] == "AWS::ElastiCache::SubnetGroup" and identity["id"] == "mensetsu-dev-redis"
    assert identity["arn"] == arn and identity["region"] == "ap-northeast-1"
    assert identity["console"].startswith("https://ap-northeast-1.console.aws.amazon.com/elasticache/")


def test_a_record_of_route53_records_is_named_as_aws_does():
    """library/route53_records returns one result per record (no invocation of its own): each is
    named AWS::Route53::RecordSet "<name> <type>" with the zone's console page, and its diff says
    which value differs."""
    callback = load_callback()
    result = {
        "record": "api.local.mensetsu.example.com",
        "name": "api.local.mensetsu.example.com.",
        "type": "A",
        "label": "api.local.mensetsu.example.com A",
        "hosted_zone_id": "Z0ZONE",
        "changed": True,
        "diff": {
            "before": {"alias": False, "value": "198.51.100.7", "ttl": 60},
            "after": {"alias": True, "value": "alb-1.ap-northeast-1.elb.amazonaws.com.", "ttl": None},
        },
    }
    context = {"account": "123456789012", "partition": "aws", "region": "ap-northeast-1"}
    identity = callback.aws_identity("ansible.legacy.route53_records", result, context, {})
    assert identity["type"] == "AWS::Route53::RecordSet" and identity["id"] == "api.local.mensetsu.example.com A"
    assert identity["region"] == "global" and identity["console"].endswith("ListRecordSets/Z0ZONE")
    value = next(item for item in callback.result_items(result) if item["attribute"] == "value")
    assert value == {
        "attribute": "value",
        "declared": "alb-1.ap-northeast-1.elb.amazonaws.com.",
        "actual": "198.51.100.7",
    }


def test_each_log_group_of_a_names_task_is_named_as_aws_does():
    """library/log_group with names (roles/aws_data's exported PostgreSQL logs) returns one result per
    group, each with its name and ARN: each is named AWS::Logs::LogGroup by its own name."""
    callback = load_callback()
    name = "/aws/rds/instance/mensetsu-dev-postgres/upgrade"
    arn = f"arn:aws:logs:ap-northeast-1:123456789012:log-group:{name}"
    result = {
        "name": name,
        "drift_kind": "log_group",
        "changed": True,
        "log_group": {"name": name, "arn": arn, "retention_days": 30, "tags": {}},
        "diff": {"before": {"retention_days": 1}, "after": {"retention_days": 30}},
    }
    context = {"account": "123456789012", "partition": "aws", "region": "ap-northeast-1"}
    identity = callback.aws_identity("ansible.legacy.log_group", result, context, {})
    assert identity["type"] == "AWS::Logs::LogGroup" and identity["id"] == name and identity["arn"] == arn


def test_the_markdown_puts_the_most_security_relevant_resource_first():
    callback = load_callback()
    context = {"account": "123456789012", "partition": "aws", "region": "ap-northeast-1"}
    alarm = callback.aws_identity(
        "amazon.aws.cloudwatch_metric_alarm", {"invocation": {"module_args": {"name": "a"}}}, context, {}
    )
    group = callback.aws_identity(
        "amazon.aws.ec2_security_group", {"group_id": "sg-1", "group_name": "app"}, context, {}
    )
    host = callback.host_identity("app-1", {"attribute": "content of /etc/ssh/sshd_config"}, "base : Configure sshd")
    raw = [
        (alarm, {"attribute": "threshold", "declared": 10, "actual": 1000}),
        (
            host,
            {
                "attribute": "content of /etc/ssh/sshd_config",
                "declared": "1: PermitRootLogin no",
                "actual": "1: PermitRootLogin yes",
            },
        ),
        (
            group,
            {
                "attribute": "ip_permissions",
                "declared": [],
                "actual": ["tcp 22 from 0.0.0.0/0"],
                "extra": ["tcp 22 from 0.0.0.0/0"],
            },
        ),
    ]
    items = []
    for identity, item in raw:
        category, severity = callback.classify(identity, item)
        items.append(
            {
                **item,
                "identity": identity,
                "resource": callback.describe(identity),
                "task": "t",
                "host": "h",
                "category": category,
                "severity": severity,
            }
        )
    report = {
        "environment": "dev",
        "status": "drift",
        "started": "s",
        "finished": "f",
        "items": items,
        "failures": [],
        "fix_command": "ansible-playbook site.yml -i inventories/dev",
        "json": "r.json",
        "markdown": "r.md",
        "drift_count": 3,
    }
    sections = [line for line in callback.markdown(report).splitlines() if line.startswith("## ")]
    assert sections == [
        "## critical: AWS::EC2::SecurityGroup sg-1 (app)",
        "## high: app-1: /etc/ssh/sshd_config",
        "## medium: AWS::CloudWatch::Alarm a",
    ], sections
    assert callback.verdict_lines(report)[0] == "DRIFT: 3 differences between the declaration and the platform:"
    assert callback.verdict_lines(report)[1].startswith(
        "  [critical] AWS::EC2::SecurityGroup sg-1 (app): ip_permissions"
    )


def test_the_report_leads_with_the_stages_then_differences_then_unmanaged_with_their_attribution():
    """A report with a difference and an unmanaged resource, each attributed the way CloudTrail's
    events are (moto has no LookupEvents: the values are those of the Stubber test,
    tests/modules/test_aws_drift_attribution_info.py): its order, its verdict lines, its schema."""
    callback = load_callback()
    context = {"account": "123456789012", "partition": "aws", "region": REGION}
    group = callback.aws_identity(
        "amazon.aws.ec2_security_group", {"group_id": "sg-1", "group_name": "app"}, context, {}
    )
    event = {
        "time": "2026-12-05T23:09:09+00:00",
        "event_name": "AuthorizeSecurityGroupIngress",
        "principal_arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice",
        "source_ip": "203.0.113.7",
        "user_agent": "console.ec2.amazonaws.com",
        "event_source": "ec2.amazonaws.com",
        "event_id": "id-1",
    }
    difference = {"attribute": "ip_permissions", "declared": [], "actual": ["tcp 22 from 0.0.0.0/0"]}
    category, severity = callback.classify(group, difference)
    item = {
        **difference,
        "identity": group,
        "resource": callback.describe(group),
        "task": "t",
        "host": "localhost",
        "stage": "security",
        "category": category,
        "severity": severity,
        "attribution": {"status": "found", "reason": "", "events": [event]},
    }
    unmanaged = {
        "stage": "secrets",
        "kind": "secret",
        "type": "AWS::SecretsManager::Secret",
        "id": "mensetsu/dev/copied-by-hand",
        "name": "mensetsu/dev/copied-by-hand",
        "arn": "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:mensetsu/dev/copied-by-hand-AbCdEf",
        "description": "secret mensetsu/dev/copied-by-hand",
        "remove": "aws secretsmanager delete-secret --secret-id x --recovery-window-in-days 30 --region ap-northeast-1",
        "declare": "api_key_secrets in inventories/dev/group_vars/all/",
        "lookup": "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:mensetsu/dev/copied-by-hand-AbCdEf",
        "attribution": {"status": "unavailable", "reason": "the caller may not read CloudTrail", "events": []},
    }
    report = {
        "environment": "dev",
        "status": "drift",
        "started": "2026-12-06T00:00:00+00:00",
        "finished": "2026-12-06T00:01:00+00:00",
        "account": "123456789012",
        "region": REGION,
        "drift_count": 1,
        "fix_command": "ansible-playbook site.yml -i inventories/dev",
        "items": [item],
        "unmanaged": [unmanaged],
        "unmanaged_count": 1,
        "allowed_count": 0,
        "failures": [],
        "json": "reports/r.json",
        "markdown": "reports/r.md",
    }
    report["stages"] = callback.stage_summary(report)
    validate_report(report)
    assert report["stages"] == [
        {
            "stage": "security",
            "differences": 1,
            "unmanaged": 0,
            "fix_command": f"{report['fix_command']} --tags security",
        },
        {
            "stage": "secrets",
            "differences": 0,
            "unmanaged": 1,
            "fix_command": f"{report['fix_command']} --tags secrets",
        },
    ]
    text = callback.markdown(report)
    order = [
        text.index(mark)
        for mark in ("**By stage**", "## critical: AWS::EC2::SecurityGroup sg-1", "# Unmanaged resources")
    ]
    assert order == sorted(order), text
    assert (
        "--tags security`" in text
        and "- Last write: 2026-12-05T23:09:09+00:00 AuthorizeSecurityGroupIngress by " in text
    )
    assert "- Last write: the caller may not read CloudTrail" in text and f"`{unmanaged['remove']}`" in text
    lines = callback.verdict_lines(report)
    assert lines[0].startswith("UNMANAGED: 1 resources") and lines[2].startswith("DRIFT: 1 differences")
    assert lines[-2] == "Fix: ansible-playbook site.yml -i inventories/dev"
    only_unmanaged = {**report, "items": [], "drift_count": 0}
    assert callback.verdict_lines(only_unmanaged)[2].startswith("DRIFT: 0 differences")
    note = callback.notification(report)
    assert note["subject"] == "Drift in dev: 1 differences, 1 unmanaged resources" and "reports/r.md" in note["message"]
    with pytest.raises(AssertionError):
        validate_report({**report, "unmanaged": [{**unmanaged, "remove": ""}]})  # no way out: refused
