"""The data and storage stages against AWS's behaviour where the emulator differs, on a moto server of
their own: what the configuration enforces (TLS-only PostgreSQL through its own parameter group, the
account-level S3 Block Public Access), an engine version that AWS moved to a newer minor between two
runs, and bucket names, which are global across every AWS account.

One provisioning of the network, security, secrets, data and storage stages for the module (about 80 s),
then a re-run and a --check run (about 50 s each).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.moto import REGION, MotoServer, start_moto
from tests.support.naming import MOTO_ACCOUNT, log_bucket, media_bucket, names, static_bucket
from tests.support.playbook import PlaybookRun, run_playbook
from tests.support.requests import writes

pytestmark = pytest.mark.stack  # converges several stages of provision.yml: not in make test-fast

PREFIX = "mensetsu-local"
NAMES = names(PREFIX)  # the naming map (group_vars/all/naming.yml)
STAGES = ("--tags", "network,logs,security,secrets,data,storage")  # storage logs to the logs stage's bucket
OTHER_ACCOUNT = "111122223333"


def provision(server: MotoServer, check: bool = False, args: tuple[str, ...] = STAGES) -> PlaybookRun:
    return run_playbook("playbooks/provision.yml", env=server.env, check=check, args=args)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = start_moto(workdir=tmp_path_factory.mktemp("moto-data"))
    try:
        first = provision(server)
        assert first.returncode == 0, str(first)
        yield server
    finally:
        server.stop()


def s3control(server: MotoServer):
    """S3 Control as botocore sends it (to <account>.<endpoint>), redirected to the emulator's one address:
    the same redirection inventories/local asks of library/s3_account_public_access_block.py."""
    client = server.client("s3control")

    def endpoint_host_only(request, **_) -> None:
        request.url = request.url.replace(f"://{MOTO_ACCOUNT}.", "://", 1)

    client.meta.events.register("before-send.s3-control", endpoint_host_only)
    return client


def test_the_database_refuses_connections_without_tls(stack: MotoServer) -> None:
    rds = stack.client("rds")
    [instance] = rds.describe_db_instances(DBInstanceIdentifier=NAMES["db"])["DBInstances"]
    assert [group["DBParameterGroupName"] for group in instance["DBParameterGroups"]] == [NAMES["db_parameter_group"]]
    [group] = rds.describe_db_parameter_groups(DBParameterGroupName=NAMES["db_parameter_group"])["DBParameterGroups"]
    assert group["DBParameterGroupFamily"] == "postgres16"
    parameters = rds.describe_db_parameters(DBParameterGroupName=NAMES["db_parameter_group"], Source="user")[
        "Parameters"
    ]
    # TLS only (Prowler's rds_instance_transport_encrypted reads rds.force_ssl), slow statements over
    # db_slow_statement_ms, connections and disconnections logged.
    assert {p["ParameterName"]: p["ParameterValue"] for p in parameters} == {
        "rds.force_ssl": "1",
        "log_min_duration_statement": "1000",
        "log_connections": "1",
        "log_disconnections": "1",
    }


def test_the_database_exports_its_logs_with_a_retention(stack: MotoServer) -> None:
    """db_log_exports reach the instance, their log groups keep db_log_retention_days. (Performance
    Insights, which moto drops, is neither sent nor compared in inventories/local: the re-run below
    says so.)"""
    rds = stack.client("rds")
    [instance] = rds.describe_db_instances(DBInstanceIdentifier=NAMES["db"])["DBInstances"]
    assert sorted(instance["EnabledCloudwatchLogsExports"]) == ["postgresql", "upgrade"]
    # RDS makes these groups without a retention (kept for ever): the role makes them first, with one.
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=NAMES["db_log_group_prefix"])["logGroups"]
    assert {group["logGroupName"]: group.get("retentionInDays") for group in groups} == {
        f"{NAMES['db_log_group_prefix']}/postgresql": 90,
        f"{NAMES['db_log_group_prefix']}/upgrade": 90,
    }


def test_the_account_blocks_public_access_to_every_bucket(stack: MotoServer) -> None:
    block = s3control(stack).get_public_access_block(AccountId=MOTO_ACCOUNT)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }


def test_the_bucket_names_carry_the_account_id(stack: MotoServer) -> None:
    names = sorted(bucket["Name"] for bucket in stack.client("s3").list_buckets()["Buckets"])
    assert len(names) == 3 and all(name.endswith(f"-{MOTO_ACCOUNT}") for name in names), names
    assert names == sorted([static_bucket(PREFIX), media_bucket(PREFIX), log_bucket(PREFIX)])


def test_after_an_automatic_minor_upgrade_the_rerun_changes_nothing(stack: MotoServer) -> None:
    """AWS reports 16.x for an instance asked for as 16 and later upgrades it to a newer minor by itself
    (auto_minor_version_upgrade); the emulator keeps "16". Set the instance to a newer minor as AWS would:
    the re-run and a --check run must change nothing and send no write (no ModifyDBInstance back to 16)."""
    rds = stack.client("rds")
    rds.modify_db_instance(DBInstanceIdentifier=NAMES["db"], EngineVersion="16.8", ApplyImmediately=True)
    assert rds.describe_db_instances(DBInstanceIdentifier=NAMES["db"])["DBInstances"][0]["EngineVersion"] == "16.8"

    with stack.recording_requests() as requests:
        again = provision(stack)
    assert again.returncode == 0, str(again)
    assert again.changed == 0, str(again)
    said = " ".join(again.output.split())
    assert "emulator_missing_features names performance_insights: db_performance_insights (False)" in said
    assert writes(requests) == [], [str(request) for request in writes(requests)]

    with stack.recording_requests() as requests:
        checked = provision(stack, check=True)
    assert checked.returncode == 0 and checked.changed == 0, str(checked)
    assert writes(requests) == [], [str(request) for request in writes(requests)]


def test_a_bucket_name_held_by_another_account_stops_the_run(aws: MotoServer) -> None:
    """Another account (the emulator tells accounts apart by the x-moto-account-id header) owns the name
    this account's static bucket would take: the storage stage stops, naming the variable, before it
    writes anything, and leaves the other account's bucket alone."""
    squatter = aws.other_account_client("s3", OTHER_ACCOUNT)
    taken = static_bucket(PREFIX)
    squatter.create_bucket(Bucket=taken, CreateBucketConfiguration={"LocationConstraint": REGION})

    with aws.recording_requests() as requests:
        run = provision(aws, args=("--tags", "storage"))
    assert run.returncode != 0
    message = " ".join(run.output.split())
    assert f"static_bucket_name: the bucket name {taken} belongs to another AWS account" in message, run.output[-3000:]
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert squatter.get_bucket_versioning(Bucket=taken).get("Status") is None
    assert [bucket["Name"] for bucket in squatter.list_buckets()["Buckets"]] == [taken]
    assert aws.client("s3").list_buckets()["Buckets"] == [], "this account created a bucket"
