"""The drift run (scripts/drift.sh -> playbooks/drift.yml + the drift_report callback) against a
moto server of its own: out-of-band changes made with boto3 exit 2, each named in the report with
its declared and actual value; a converge fixes them, and the drift run on the converged stack
exits 0 with an empty report; an unreachable endpoint exits 1. Every drift run sends zero
mutating requests.

Costly (two site.yml runs and two drift runs), so the stack is built once for the module and the
AWS tests run in file order. The callback's parsing and the workflow are tested without AWS.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.drift import VENV_BIN, run_drift
from tests.support.moto import REPO, MotoServer, free_port, start_moto
from tests.support.naming import media_bucket, static_bucket
from tests.support.playbook import run_playbook
from tests.support.requests import writes

PREFIX = "mensetsu-local"
INVENTORY = "inventories/local"
# The converges leave the static bucket's objects alone: the drift run does not compare them.
SKIP_STATIC = ("--skip-tags", "static")
ADMIN = "192.0.2.10/32"  # inventories/local admin_cidr


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


def make_drift(client) -> dict[str, str]:
    """Out-of-band changes, as someone at the console would make them. Returns ids the test needs."""
    ec2 = client("ec2")
    groups = ec2.describe_security_groups(Filters=[{"Name": "tag:Project", "Values": ["mensetsu"]}])
    group_ids = {g["GroupName"].removeprefix(f"{PREFIX}-"): g["GroupId"] for g in groups["SecurityGroups"]}
    ec2.authorize_security_group_ingress(
        GroupId=group_ids["app"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_ids["db"]]}])
    inbound = [rule["SecurityGroupRuleId"] for rule in rules["SecurityGroupRules"] if not rule["IsEgress"]]
    ec2.revoke_security_group_ingress(GroupId=group_ids["db"], SecurityGroupRuleIds=inbound)
    filters = [{"Name": "tag:Role", "Values": ["app"]}, {"Name": "instance-state-name", "Values": ["running"]}]
    instance = ec2.describe_instances(Filters=filters)["Reservations"][0]["Instances"][0]
    ec2.modify_instance_metadata_options(InstanceId=instance["InstanceId"], HttpTokens="optional")
    ec2.modify_instance_attribute(InstanceId=instance["InstanceId"], InstanceType={"Value": "t3.large"})

    s3 = client("s3")
    s3.delete_public_access_block(Bucket=media_bucket(PREFIX))
    s3.put_bucket_versioning(Bucket=static_bucket(PREFIX), VersioningConfiguration={"Status": "Suspended"})
    s3.delete_bucket_lifecycle(Bucket=media_bucket(PREFIX))

    elb = client("elbv2")
    group = elb.describe_target_groups(Names=[f"{PREFIX}-api"])["TargetGroups"][0]
    elb.modify_target_group(TargetGroupArn=group["TargetGroupArn"], HealthCheckPath="/")

    client("rds").modify_db_instance(
        DBInstanceIdentifier=f"{PREFIX}-db", BackupRetentionPeriod=0, ApplyImmediately=True
    )

    cloudfront = client("cloudfront", "us-east-1")
    summary = next(
        d
        for d in cloudfront.list_distributions()["DistributionList"]["Items"]
        if d["Comment"] == f"{PREFIX} static site"
    )
    current = cloudfront.get_distribution_config(Id=summary["Id"])
    config = current["DistributionConfig"]
    config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] = "allow-all"
    cloudfront.update_distribution(Id=summary["Id"], IfMatch=current["ETag"], DistributionConfig=config)

    client("secretsmanager").delete_secret(SecretId="mensetsu/local/heygen-api-key", ForceDeleteWithoutRecovery=True)

    route53 = client("route53", "us-east-1")
    zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == "local.mensetsu.example.com.")
    route53.change_resource_record_sets(
        HostedZoneId=zone["Id"],
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": "api.local.mensetsu.example.com.",
                        "Type": "A",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "198.51.100.7"}],
                    },
                }
            ]
        },
    )
    return {"app_sg": group_ids["app"], "db_sg": group_ids["db"], "instance": instance["InstanceId"]}


def test_out_of_band_changes_exit_2_each_named_with_declared_and_actual(server, client, reports):
    ids = make_drift(client)
    with server.recording_requests() as requests:
        run = run_drift(server.env, reports)
    assert run.returncode == 2, str(run)
    assert writes(requests) == [], [str(r) for r in writes(requests)]
    report = run.report
    assert report["status"] == "drift" and report["drift_count"] == len(report["items"])
    assert report["fix_command"] == "ansible-playbook site.yml -i inventories/local"
    assert report["fix_command"] in run.markdown

    def only(resource: str, attribute: str) -> dict:
        found = run.items(resource, attribute)
        assert len(found) == 1, (resource, attribute, json.dumps(report["items"], indent=1, default=str))
        return found[0]

    def declared_actual(resource: str, attribute: str) -> tuple:
        item = only(resource, attribute)
        return item["declared"], item["actual"]

    assert "tcp 22 from 0.0.0.0/0" in only("[app]", "ip_permissions")["extra"]
    assert only("[db]", "ip_permissions")["missing"] == [f"tcp 5432 from {ids['app_sg']}"]
    assert declared_actual(f"s3://{media_bucket(PREFIX)}", "public_access.block_public_acls") == (True, False)
    assert declared_actual(f"s3://{static_bucket(PREFIX)}", "versioning") == ("Enabled", "Suspended")
    assert (
        declared_actual(f"s3://{media_bucket(PREFIX)}", "lifecycle_rules[expire-noncurrent-and-abort-uploads]")[1]
        is None
    )
    assert declared_actual("PostgreSQL", "backup_retention_period") == (1, 0)
    assert declared_actual("CloudFront distribution", "ViewerProtocolPolicy") == ("redirect-to-https", "allow-all")
    assert declared_actual(f"{PREFIX}-app-1", "metadata_options.http_tokens") == ("required", "optional")
    assert declared_actual(f"{PREFIX}-app-1", "instance_type") == ("t3.medium", "t3.large")
    assert declared_actual("api record", "value")[1] == "198.51.100.7"
    assert declared_actual(f"target-group/{PREFIX}-api", "health_check_path") == ("/health", "/")
    secret = declared_actual("secretsmanager", "secret[mensetsu/local/heygen-api-key]")
    assert secret == ("present", "absent")
    hidden = [item for item in report["items"] if item.get("secret")]
    assert hidden and all(item["declared"] == item["actual"] == "(hidden: no_log)" for item in hidden)
    assert "| Resource | Attribute | Declared | Actual |" in run.markdown


def test_no_secret_value_reaches_the_report(server, client, reports):
    secrets = client("secretsmanager")
    values = [
        json.loads(secrets.get_secret_value(SecretId=f"mensetsu/local/{name}")["SecretString"])[key]
        for name, key in (("db", "password"), ("redis", "auth_token"))
    ]
    for path in reports.glob("drift-*"):
        text = path.read_text()
        assert not any(value in text for value in values), path


def test_after_a_converge_the_drift_run_exits_0_with_an_empty_report(server, client, reports):
    # amazon.aws.ec2_instance cannot apply metadata options on moto (it resends the fields moto
    # does not return as None); on AWS the converge restores IMDSv2 like everything else.
    ec2 = client("ec2")
    filters = [{"Name": "tag:Role", "Values": ["app"]}, {"Name": "instance-state-name", "Values": ["running"]}]
    for reservation in ec2.describe_instances(Filters=filters)["Reservations"]:
        for instance in reservation["Instances"]:
            ec2.modify_instance_metadata_options(
                InstanceId=instance["InstanceId"], HttpTokens="required", HttpPutResponseHopLimit=2
            )
    fixed = run_playbook("site.yml", INVENTORY, env=server.env, args=SKIP_STATIC)
    assert fixed.returncode == 0, str(fixed)
    with server.recording_requests() as requests:
        run = run_drift(server.env, reports)
    assert run.returncode == 0, str(run) + json.dumps(run.report.get("items"), indent=1, default=str)
    assert run.report["status"] == "clean" and run.report["items"] == [], run.report
    assert "No drift" in run.markdown
    assert requests, "the drift run read nothing: it did not look at the stack"
    assert writes(requests) == [], [str(r) for r in writes(requests)]


def test_a_failed_run_exits_1_and_never_reads_as_no_drift(reports):
    unreachable = f"http://127.0.0.1:{free_port()}"
    env = {"AWS_ENDPOINT_URL": unreachable, "AWS_MAX_ATTEMPTS": "1"}
    run = run_drift(env, reports)
    assert run.returncode == 1, str(run)
    assert run.report["status"] == "failed" and run.report["failures"], run.report
    assert "does NOT say there is no drift" in run.markdown


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
