"""playbooks/teardown.yml against a converged local stack on a moto server of its own.

The stack is built once (playbooks/provision.yml, with its alarms, alert topic and budget), for this
file and tests/test_secrets_output.py, which reads only the outputs of its building
(tests/support/secrets_stack.py; tests/conftest.py, STACK_GROUPS); this module adds object versions
in both buckets and deletion protection on the database. Then, in
this order: the guards refuse before any request, and a protected database before any write
without teardown_lift_deletion_protection; a --check run lists what would go and writes nothing; the
teardown leaves none of the environment's tagged resources but the kept ones (media bucket, final
DB snapshot, secrets scheduled for deletion); a second teardown changes nothing and writes nothing;
teardown_delete_media=true removes the media bucket too.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.moto import REGION, MotoServer
from tests.support.naming import log_bucket, media_bucket, names, platform_name, static_bucket
from tests.support.playbook import REPO, PlaybookRun, run_playbook
from tests.support.requests import AwsRequest, writes
from tests.support.secrets_stack import SecretsStack

pytestmark = pytest.mark.stack  # converges a whole stack: not in make test-fast

PREFIX = "mensetsu-local"
NAMES = names(PREFIX)  # the naming map (group_vars/all/naming.yml)
ALARMS = NAMES["alarm_prefix"]  # alarms are <ALARMS>-<alarm>
STATIC_BUCKET, MEDIA_BUCKET = static_bucket(PREFIX), media_bucket(PREFIX)
LOG_BUCKET = log_bucket(PREFIX)
TRANSFER_BUCKET = platform_name("ssm_transfer_bucket_name", PREFIX)  # admin_access both (inventories/local)
INVENTORY = "inventories/local"
# The prod inventory without its EC2 inventory plugin (which would query the account to list hosts).
PROD_INVENTORY = "inventories/prod/hosts.yml"
# An operator's own values for what the shipped prod inventory leaves as documentation placeholders
# (preflight refuses those before the teardown's guards are reached).
PROD_SETTINGS = {"domain_name": "mensetsu.jp", "admin_cidr": "133.242.10.20/32", "operator_email": "ops@mensetsu.jp"}
PLAYBOOK = "playbooks/teardown.yml"
# The stack's database gets deletion protection (as prod has), so the teardown must lift it.
CONFIRM = {"teardown_confirm": "local", "teardown_lift_deletion_protection": True}
ACCOUNT = "123456789012"
SECRETS = ["db", "redis", "openai-api-key", "google-cloud-credentials", "heygen-api-key"]
STAMP = r"\d{8}-\d{6}"
MONITORING_PLAYBOOK = """---
- name: Put the environment's alert topic, alarms and budget
  hosts: localhost
  gather_facts: false
  environment: "{{ aws_env }}"
  roles: [aws_monitoring, aws_budget]
"""


def client_for(server: MotoServer):
    return server.client


def put_versions(s3, bucket: str, key: str) -> None:
    """Three versions and a delete marker of one key, plus a live object, under the bucket's TLS-only
    policy (moto ignores its condition, so it is lifted while the objects are written)."""
    try:
        policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchBucketPolicy":
            raise
        policy = None
    s3.delete_bucket_policy(Bucket=bucket)
    for version in range(3):
        s3.put_object(Bucket=bucket, Key=key, Body=f"version {version}".encode())
    s3.delete_object(Bucket=bucket, Key=key)
    s3.put_object(Bucket=bucket, Key="kept.txt", Body=b"live")
    if policy:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy)


def version_count(s3, bucket: str) -> int:
    listing = s3.list_object_versions(Bucket=bucket)
    return len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))


@pytest.fixture(scope="module")
def stack(secrets_stack: SecretsStack, tmp_path_factory: pytest.TempPathFactory) -> MotoServer:
    """The converged local stack: tests/conftest.py's `secrets_stack` (playbooks/provision.yml, its
    outputs read by tests/test_secrets_output.py), shared so that inventories/local is provisioned
    once for both files; here it gets deletion protection and object versions."""
    server = secrets_stack.server
    regional = client_for(server)("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]
    assert [acl["Name"] for acl in regional] == [NAMES["web_acl_alb"]]
    balancer = client_for(server)("elbv2").describe_load_balancers(Names=[NAMES["alb"]])["LoadBalancers"][0]
    associated = client_for(server)("wafv2").get_web_acl_for_resource(ResourceArn=balancer["LoadBalancerArn"])
    assert associated["WebACL"]["Name"] == NAMES["web_acl_alb"]
    # The AWS platform only (site.yml's later stages configure hosts and publish, which a
    # teardown does not undo: the hosts go with their instances, the build with its bucket).
    if "aws_monitoring" not in (REPO / "playbooks" / "provision.yml").read_text():
        # Until provision.yml runs them: the alarms, alert topic and budget the teardown removes.
        playbook = tmp_path_factory.mktemp("teardown") / "monitoring.yml"
        playbook.write_text(MONITORING_PLAYBOOK)
        monitored = run_playbook(str(playbook), INVENTORY, env={**server.env, "AWS_MAX_ATTEMPTS": "1"})
        assert monitored.returncode == 0, str(monitored)
    client_for(server)("rds").modify_db_instance(
        DBInstanceIdentifier=NAMES["db"], DeletionProtection=True, ApplyImmediately=True
    )
    s3 = client_for(server)("s3")
    put_versions(s3, STATIC_BUCKET, "index.html")
    put_versions(s3, MEDIA_BUCKET, "recordings/interview-1.webm")
    put_versions(s3, LOG_BUCKET, f"alb/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/access.log.gz")
    s3.put_object(Bucket=TRANSFER_BUCKET, Key="i-0123456789abcdef0/AnsiballZ_setup.py", Body=b"left behind")
    return server


@pytest.fixture(scope="module")
def client(stack: MotoServer):
    return client_for(stack)


@pytest.fixture(scope="module")
def teardown(stack: MotoServer) -> tuple[PlaybookRun, list[AwsRequest], list[str]]:
    """The real teardown, with the requests it sent (parsed, and their recorded bodies)."""
    with stack.recording_requests() as requests:
        run = run_playbook(PLAYBOOK, INVENTORY, env=stack.env, extra_vars=CONFIRM)
    raw = [json.loads(line) for line in stack.recording.read_text().splitlines() if line.strip()]
    return run, requests, [body_of(entry) for entry in raw]


def body_of(entry: dict) -> str:
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    return body


def label(request: AwsRequest) -> str:
    """The API action of a write; REST APIs (Route 53, CloudFront, S3) say it with method and path."""
    if request.action:
        return request.action
    path = urlparse(request.url).path
    if request.service == "route53" and request.method == "POST" and path.rstrip("/").endswith("/rrset"):
        return "ChangeResourceRecordSets"
    if request.service == "route53" and request.method == "DELETE" and "/hostedzone/" in path:
        return "DeleteHostedZone"
    if request.service == "cloudfront" and request.method == "DELETE" and "/distribution/" in path:
        return "DeleteDistribution"
    return f"{request.service} {request.method} {path}"


def tagged_arns(client) -> list[str]:
    filters = [{"Key": "Project", "Values": ["mensetsu"]}, {"Key": "Environment", "Values": ["local"]}]
    arns: set[str] = set()
    for region in (REGION, "us-east-1"):
        tagging = client("resourcegroupstaggingapi", region)
        for page in tagging.get_paginator("get_resources").paginate(TagFilters=filters):
            arns |= {item["ResourceARN"] for item in page["ResourceTagMappingList"]}
    return sorted(arns)


@pytest.mark.parametrize(
    ("inventory", "extra_vars", "refusal"),
    [
        pytest.param(PROD_INVENTORY, PROD_SETTINGS, "teardown_confirm: refusing to remove prod", id="prod-no-guard"),
        pytest.param(
            PROD_INVENTORY,
            {**PROD_SETTINGS, "teardown_confirm": "prod"},
            "teardown_lift_deletion_protection: prod is protected",
            id="prod-confirm-only",
        ),
        pytest.param(
            INVENTORY, {"teardown_confirm": "prod"}, "teardown_confirm: refusing to remove local", id="local-wrong-name"
        ),
    ],
)
def test_guards_refuse_before_any_request(stack, inventory, extra_vars, refusal):
    with stack.recording_requests() as requests:
        run = run_playbook(PLAYBOOK, inventory, env=stack.env, extra_vars=extra_vars)
    assert run.returncode != 0, str(run)
    assert refusal in " ".join(run.output.split()), str(run)
    assert requests == [], [str(r) for r in requests]


def test_a_protected_database_stops_the_teardown_before_any_write(stack, client):
    with stack.recording_requests() as requests:
        run = run_playbook(PLAYBOOK, INVENTORY, env=stack.env, extra_vars={"teardown_confirm": "local"})
    assert run.returncode != 0, str(run)
    assert f"{NAMES['db']} has deletion protection on" in " ".join(run.output.split()), str(run)
    assert writes(requests) == [], [str(r) for r in writes(requests)]


def test_check_mode_lists_what_would_go_and_writes_nothing(stack, client):
    with stack.recording_requests() as requests:
        check = run_playbook(PLAYBOOK, INVENTORY, env=stack.env, extra_vars=CONFIRM, check=True, diff=True)
    assert check.returncode == 0, str(check)
    assert check.changed > 10, str(check)
    assert requests, "the check run read nothing"
    assert writes(requests) == [], [str(r) for r in writes(requests)]
    instance = client("ec2").describe_instances(Filters=[{"Name": "tag:Name", "Values": [f"{NAMES['app_host']}-1"]}])
    instance_id = instance["Reservations"][0]["Instances"][0]["InstanceId"]
    plan = check.output.split("Say what the teardown removes and what it keeps", 1)[1]
    for expected in (instance_id, NAMES["db"], STATIC_BUCKET, f"{ALARMS}-alb-target-5xx", LOG_BUCKET, NAMES["trail"]):
        assert expected in plan, f"{expected} missing from the plan"
    assert re.search(rf"database_final_snapshot: {NAMES['db_final_snapshot']}-{STAMP}", plan), plan[:3000]
    assert re.search(rf"media_bucket: {MEDIA_BUCKET}", plan), plan[:3000]
    # Nothing went: the balancer, the database and every object version are still there.
    assert client("elbv2").describe_load_balancers(Names=[NAMES["alb"]])["LoadBalancers"]
    assert client("rds").describe_db_instances(DBInstanceIdentifier=NAMES["db"])["DBInstances"]
    assert version_count(client("s3"), STATIC_BUCKET) == 5


def test_teardown_runs_in_dependency_order(teardown):
    run, requests, _ = teardown
    assert run.returncode == 0, str(run)
    assert run.changed > 10, str(run)
    order = [label(request) for request in writes(requests)]

    def first(action: str) -> int:
        assert action in order, f"{action} was never sent: {order}"
        return order.index(action)

    def last(action: str) -> int:
        return len(order) - 1 - order[::-1].index(action)

    assert last("DeleteAlarms") < first("ChangeResourceRecordSets")
    assert last("ChangeResourceRecordSets") < first("DeleteDistribution") < first("DeleteLoadBalancer")
    assert first("DeleteLoadBalancer") < first("DeleteCertificate")
    assert first("TerminateInstances") < first("DeleteSecurityGroup")
    assert first("DeleteDBInstance") < first("DeleteDBSubnetGroup") < first("DeleteSecurityGroup")
    assert first("DeleteReplicationGroup") < first("DeleteSecurityGroup")
    assert last("DeleteSecurityGroup") < first("DeleteSubnet") < first("DeleteVpc")
    assert last("DeleteVpc") < first("DeleteSecret") and last("DeleteSecret") < first("DeleteHostedZone")
    # WAF: the distribution goes before its web ACL, the load balancer before its regional one.
    web_acls = [index for index, action in enumerate(order) if action == "DeleteWebACL"]
    assert len(web_acls) == 2, order
    assert first("DeleteDistribution") < web_acls[0] and first("DeleteLoadBalancer") < web_acls[1]
    assert first("DeleteFlowLogs") < first("DeleteVpc") and "DeleteTrail" in order
    # The log bucket goes last of all: every stage logged to it until it was gone.
    assert order[-1] == f"s3 DELETE /{LOG_BUCKET}", order[-5:]


def test_nothing_tagged_is_left_but_what_is_kept(teardown, client):
    left = tagged_arns(client)
    kept = {
        f"arn:aws:s3:::{MEDIA_BUCKET}",
        f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:{NAMES['redis']}",  # moto: "deleting" for ever
    }
    unexpected = [
        arn
        for arn in left
        if arn not in kept
        and not re.fullmatch(rf"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:{NAMES['db_final_snapshot']}-{STAMP}", arn)
        and not re.fullmatch(rf"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:mensetsu/local/.+", arn)
        and not arn.startswith(f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/")  # checked terminated below
    ]
    assert unexpected == []


def test_network_compute_and_edge_are_gone(teardown, client):
    ec2 = client("ec2")
    tag = [{"Name": "tag:Project", "Values": ["mensetsu"]}, {"Name": "tag:Environment", "Values": ["local"]}]
    assert ec2.describe_vpcs(Filters=tag)["Vpcs"] == []
    assert ec2.describe_subnets(Filters=tag)["Subnets"] == []
    assert ec2.describe_security_groups(Filters=tag)["SecurityGroups"] == []
    assert ec2.describe_internet_gateways(Filters=tag)["InternetGateways"] == []
    live = [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    assert ec2.describe_instances(Filters=tag + live)["Reservations"] == []
    assert ec2.describe_key_pairs()["KeyPairs"] == []
    elb = client("elbv2")
    assert elb.describe_load_balancers()["LoadBalancers"] == []
    assert elb.describe_target_groups()["TargetGroups"] == []
    cloudfront = client("cloudfront", "us-east-1")
    assert cloudfront.list_distributions()["DistributionList"].get("Items", []) == []
    assert cloudfront.list_origin_access_controls()["OriginAccessControlList"].get("Items", []) == []
    assert client("wafv2", "us-east-1").list_web_acls(Scope="CLOUDFRONT")["WebACLs"] == []
    assert client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"] == []
    assert client("logs", "us-east-1").describe_log_groups(logGroupNamePrefix="aws-waf-logs-")["logGroups"] == []
    assert client("logs").describe_log_groups(logGroupNamePrefix="aws-waf-logs-")["logGroups"] == []
    for region in (REGION, "us-east-1"):
        assert client("acm", region).list_certificates()["CertificateSummaryList"] == []
    assert client("route53", "us-east-1").list_hosted_zones()["HostedZones"] == []
    iam = client("iam")
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"] == NAMES["app_role"]]
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert client("sns").list_topics()["Topics"] == []
    assert client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{ALARMS}-")["MetricAlarms"] == []
    assert client("budgets").describe_budgets(AccountId=ACCOUNT).get("Budgets", []) == []
    assert client("cloudtrail").describe_trails()["trailList"] == []
    assert ec2.describe_flow_logs()["FlowLogs"] == []
    assert client("logs").describe_log_groups(logGroupNamePrefix=NAMES["flow_log_group"])["logGroups"] == []
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"] == NAMES["flow_log_role"]]
    # Session Manager (inventories/local: admin_access both): the preferences, their log group and
    # the transfer bucket (emptied first: a broken aws_ssm run leaves payloads behind).
    preferences = client("ssm").list_documents(Filters=[{"Key": "Name", "Values": ["SSM-SessionManagerRunShell"]}])
    assert preferences["DocumentIdentifiers"] == []
    assert client("logs").describe_log_groups(logGroupNamePrefix=NAMES["ssm_session_log_group"])["logGroups"] == []


def test_data_goes_after_final_snapshots_and_secrets_stay_recoverable(teardown, client):
    _, _, bodies = teardown
    rds = client("rds")
    assert rds.describe_db_instances()["DBInstances"] == [], "the protected database was not lifted and deleted"
    snapshots = [s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]]
    assert len(snapshots) == 1 and re.fullmatch(rf"{NAMES['db_final_snapshot']}-{STAMP}", snapshots[0]), snapshots
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    group = client("elasticache").describe_replication_groups()["ReplicationGroups"]
    assert [(g["ReplicationGroupId"], g["Status"]) for g in group] == [(NAMES["redis"], "deleting")]
    # moto keeps no ElastiCache snapshot: check what AWS would have been asked for.
    deletes = [body for body in bodies if "Action=DeleteReplicationGroup" in body]
    assert len(deletes) == 1 and re.search(
        rf"FinalSnapshotIdentifier={NAMES['redis_final_snapshot']}-{STAMP}", deletes[0]
    )
    secrets = client("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]
    assert sorted(s["Name"] for s in secrets) == sorted(f"mensetsu/local/{name}" for name in SECRETS)
    assert all(s.get("DeletedDate") for s in secrets), "a secret was not scheduled for deletion"


def test_static_bucket_is_emptied_and_deleted_and_media_is_kept(teardown, client):
    s3 = client("s3")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [MEDIA_BUCKET]
    assert version_count(s3, MEDIA_BUCKET) == 5
    assert f"Kept {MEDIA_BUCKET} and its recordings" in " ".join(teardown[0].output.split())


def test_second_teardown_changes_nothing_and_writes_nothing(teardown, stack):
    with stack.recording_requests() as requests:
        again = run_playbook(PLAYBOOK, INVENTORY, env=stack.env, extra_vars=CONFIRM)
    assert again.returncode == 0, str(again)
    assert again.changed == 0, str(again)
    assert writes(requests) == [], [str(r) for r in writes(requests)]


def test_delete_media_empties_and_deletes_the_media_bucket(teardown, stack, client):
    run = run_playbook(PLAYBOOK, INVENTORY, env=stack.env, extra_vars={**CONFIRM, "teardown_delete_media": True})
    assert run.returncode == 0, str(run)
    assert run.changed == 2, str(run)  # emptied, deleted
    assert client("s3").list_buckets()["Buckets"] == []


def test_teardown_parses_for_dev_and_prod():
    for inventory in ("inventories/dev/hosts.yml", PROD_INVENTORY):
        result = run_playbook(PLAYBOOK, inventory, args=("--syntax-check",), env={"AWS_ENDPOINT_URL": ""})
        assert result.returncode == 0, str(result)


def test_module_documentation_renders():
    ansible_doc = Path(sys.executable).with_name("ansible-doc")
    command = [str(ansible_doc), "-M", "library", "s3_bucket_empty"]
    doc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert doc.returncode == 0 and "check mode" in " ".join(doc.stdout.split()), doc.stderr
