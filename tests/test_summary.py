"""scripts/summary.py's hardening rows (docs/security.md), read back from the emulator.

Cheap: no playbook. The resources each feature's role makes are created here with boto3 as AWS
holds them (the features are built by other roles; the summary only reads), then the summary's
Reader is asked, with the local inventory's settings plus the hardening settings. About 5 s.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.support.moto import REGION
from tests.support.naming import names, platform_name
from tests.support.playbook import REPO

PREFIX = "mensetsu-local"
NAMES = names(PREFIX)
ACCOUNT = "123456789012"


def load_summary():
    spec = importlib.util.spec_from_file_location("summary", REPO / "scripts" / "summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def local_settings() -> dict:
    return load_summary().inventory_settings("inventories/local")


def reader(aws, settings: dict):
    summary = load_summary()
    found = summary.Reader(settings)
    found.client = lambda service, region=None: aws.client(service, region or REGION)
    return found


def test_every_declared_feature_has_a_row_read_from_aws(aws, boto, local_settings) -> None:
    settings = {
        **local_settings,
        "waf_enabled": True,
        "waf_alb_enabled": False,
        "log_bucket_expire_days": 365,
        "cloudtrail_enabled": True,
        "vpc_flow_logs_enabled": "{{ env_name == 'local' }}",
        "dashboard_enabled": True,
    }
    log_bucket = platform_name("log_bucket_name", PREFIX)
    s3 = boto("s3")
    s3.create_bucket(Bucket=log_bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(
        Bucket=log_bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    block = {key: True for key in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
    s3.put_public_access_block(Bucket=log_bucket, PublicAccessBlockConfiguration=block)
    delivery = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{log_bucket}/*",  # moto: exactly <bucket>/* or <bucket>/<prefix>*
    }
    s3.put_bucket_policy(Bucket=log_bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [delivery]}))
    static = platform_name("static_bucket_name", PREFIX)
    s3.create_bucket(Bucket=static, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_logging(
        Bucket=static,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": log_bucket, "TargetPrefix": f"s3/{static}/"}},
    )
    cloudtrail = boto("cloudtrail")
    cloudtrail.create_trail(
        Name=NAMES["trail"], S3BucketName=log_bucket, IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    cloudtrail.start_logging(Name=NAMES["trail"])
    ec2 = boto("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(
        Resources=[vpc], Tags=[{"Key": "Project", "Value": "mensetsu"}, {"Key": "Environment", "Value": "local"}]
    )
    ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogGroupName=NAMES["flow_log_group"],
        DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/{NAMES['flow_log_role']}",
    )
    boto("cloudwatch").put_dashboard(DashboardName=NAMES["dashboard"], DashboardBody=json.dumps({"widgets": []}))
    # The web ACL exists but no distribution uses it: the summary says so.
    boto("wafv2", "us-east-1").create_web_acl(
        Name=NAMES["web_acl_cloudfront"],
        Scope="CLOUDFRONT",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "acl"},
    )

    found = reader(aws, settings)
    rows = dict(found.hardening())
    assert (
        NAMES["web_acl_cloudfront"] in rows["WAF (CloudFront)"] and "on distribution NONE" in rows["WAF (CloudFront)"]
    )
    assert "WAF (ALB)" in rows and rows["WAF (ALB)"] == "off (waf_alb_enabled: false)"
    assert rows["Log bucket"].startswith(f"{log_bucket}: private, AES256")
    assert f"server access logs of {static} -> s3/{static}/" in rows["Log bucket"]
    assert rows["CloudTrail"] == f"{NAMES['trail']} -> s3://{log_bucket}/ (multi-region, log file validation, logging)"
    assert rows["VPC flow logs"] == f"{vpc} ALL -> {NAMES['flow_log_group']}"
    dashboard = NAMES["dashboard"]
    link = f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#dashboards/dashboard/{dashboard}"
    assert rows["Dashboard"] == link
    # Nothing of the compute stage exists here: the shell-access row names what is missing.
    assert rows["Shell access"].startswith("admin_access both; port 22 closed; MISSING")
    assert any("attached to no distribution" in problem for problem in found.problems)
    assert any("port 22 of mensetsu-local-app is closed with admin_access both" in p for p in found.problems)


def test_an_undeclared_feature_has_no_row_and_a_missing_one_is_flagged(aws, local_settings) -> None:
    settings = {key: value for key, value in local_settings.items() if key != "dashboard_enabled"}
    found = reader(aws, {**settings, "cloudtrail_enabled": True})
    rows = dict(found.hardening())
    assert "Dashboard" not in rows
    assert rows["CloudTrail"] == "MISSING" and f"CloudTrail trail {NAMES['trail']} not found" in found.problems
