"""An interrupted provision run is finished by the next one: nothing lost, nothing made twice.

One chain on a moto server of its own, to stay cheap: run 1 is killed at the first kill point,
run 2 (from where run 1 left the account) at the second, and so on; then one run completes and
one more must change nothing and write nothing. Each kill point is an AWS call seen in moto's
request log (read while the run goes on), so the run dies right after that call reached the
emulator, in the middle of the task that sent it, whatever the machine's load. The whole process
group is signalled, as a cancelled CI job or an operator's terminal would; what AWS accepted
before the signal goes on being built, as it does in real life. Then boto3 counts every resource:
exactly one of each, with its identifying tags, the instance profile holding its role (an interruption
between the two calls that make it is reproduced by hand), the generated credentials never replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.moto import REGION, MotoServer, start_moto
from tests.support.naming import log_bucket, media_bucket, names, platform_name, static_bucket
from tests.support.playbook import ANSIBLE_PLAYBOOK, REPO, PlaybookRun, run_playbook
from tests.support.requests import AwsRequest, read_new_requests, writes

pytestmark = pytest.mark.stack  # converges a whole stack: not in make test-fast

PLAYBOOK = "playbooks/provision.yml"
INVENTORY = "inventories/local"
PREFIX = "mensetsu-local"
NAMES = names(PREFIX)  # the naming map (group_vars/all/naming.yml)
# seconds: a run that never reaches its kill point fails the test, it does not hang it. Only a guard:
# generous for a loaded 2-core machine (a run reaches its last point in about a minute idle).
RUN_LIMIT = 1500


@dataclass(frozen=True)
class KillPoint:
    stage: str
    call: str  # AwsRequest.is_call
    signal: signal.Signals


# In the order the run reaches them; SIGTERM and SIGKILL alternate.
KILL_POINTS = [
    KillPoint("network: the VPC just created, before its subnets", "CreateVpc", signal.SIGKILL),
    KillPoint("data: RDS creation sent, the run killed before it waits", "CreateDBInstance", signal.SIGTERM),
    KillPoint("dns: the zone created, its tags and records not yet", "POST /2013-04-01/hostedzone$", signal.SIGKILL),
    KillPoint("certificates: requested, validation records not yet written", "RequestCertificate", signal.SIGTERM),
    KillPoint("edge: the distribution created, its policy not yet", "POST /2020-05-31/distribution$", signal.SIGKILL),
    KillPoint("compute: the instance launched, target group and ALB not yet", "RunInstances", signal.SIGTERM),
]


@dataclass
class KilledRun:
    point: KillPoint
    reached: bool
    returncode: int | None
    output: str
    seconds: float
    left: list[int]  # processes of the run alive 20 s after it was killed

    def __str__(self) -> str:
        return f"killed at {self.point.stage} ({self.point.call}): exit {self.returncode}\n{self.output[-6000:]}"


def run_and_kill(server: MotoServer, point: KillPoint, log: Path) -> KilledRun:
    """Run provision.yml and signal its process group right after `point.call` reaches moto."""
    offset = server.recording.stat().st_size if server.recording.exists() else 0
    marker = f"MENSETSU_TEST_RUN={log}"  # in the environment of every process the run starts
    env = {**os.environ, **server.env, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    env["MENSETSU_TEST_RUN"] = str(log)
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(ANSIBLE_PLAYBOOK), PLAYBOOK, "-i", INVENTORY],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        reached = False
        while process.poll() is None and time.monotonic() - started < RUN_LIMIT:
            requests, offset = read_new_requests(server.recording, offset)
            if any(request.is_call(point.call) for request in requests):
                os.killpg(process.pid, point.signal)
                reached = True
                break
            time.sleep(0.02)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # any worker left in the group
    seconds = time.monotonic() - started
    left = processes_with(marker)
    deadline = time.monotonic() + 20
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = processes_with(marker)
    for pid in left:  # not to leave them to the next tests: the assertion below reports them
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return KilledRun(point, reached, process.returncode, log.read_text(errors="replace"), seconds, left)


def processes_with(marker: str) -> list[int]:
    """The processes whose environment holds `marker` (Linux /proc; as root, every process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def leave_the_profile_without_its_role(server: MotoServer) -> None:
    """A seventh interruption, made by hand: between iam_role's CreateInstanceProfile and its
    AddRoleToInstanceProfile. moto answers the two within milliseconds, too close for a kill to land
    between them every time, so the test leaves the account as that kill does on AWS."""
    iam = server.client("iam")
    iam.remove_role_from_instance_profile(InstanceProfileName=NAMES["app_role"], RoleName=NAMES["app_role"])


@dataclass
class Chain:
    server: MotoServer
    killed: list[KilledRun]
    db_secret_at_creation: dict
    completing: PlaybookRun
    noop: PlaybookRun
    noop_writes: list[AwsRequest]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    workdir = tmp_path_factory.mktemp("moto-interrupted")
    server = start_moto(workdir=workdir)
    try:
        server.start_recording()
        killed = []
        for number, point in enumerate(KILL_POINTS, start=1):
            run = run_and_kill(server, point, workdir / f"run-{number}.log")
            assert run.reached, f"run {number} ended before its kill point\n{run}"
            assert run.returncode != 0, f"run {number} was not interrupted\n{run}"
            killed.append(run)
            if point.call == "CreateDBInstance":  # the password the database is created with
                db_secret = json.loads(
                    server.client("secretsmanager").get_secret_value(SecretId="mensetsu/local/db")["SecretString"]
                )
        leave_the_profile_without_its_role(server)
        completing = run_playbook(PLAYBOOK, INVENTORY, env=server.env)
        server.stop_recording()
        with server.recording_requests() as requests:
            noop = run_playbook(PLAYBOOK, INVENTORY, env=server.env)
        yield Chain(server, killed, db_secret, completing, noop, writes(requests))
    finally:
        server.stop()


def test_every_kill_point_interrupts_its_run(chain: Chain):
    assert [run.point.signal for run in chain.killed].count(signal.SIGKILL) >= 2
    assert [run.point.signal for run in chain.killed].count(signal.SIGTERM) >= 2
    for run in chain.killed:
        assert "PLAY RECAP" not in run.output, f"the run finished instead of dying\n{run}"
        # ansible-core's workers leave the run's process group (setsid); under mitogen one left alive
        # waits for ever for the multiplexer that died with the group (plugins/strategy/mitogen_linear.py).
        assert run.left == [], f"processes of the killed run still alive: {run.left}\n{run}"


def test_the_run_after_the_interruptions_converges(chain: Chain):
    assert chain.completing.returncode == 0, str(chain.completing)
    assert chain.completing.recap["localhost"]["failed"] == 0


def test_the_next_run_changes_nothing_and_writes_nothing(chain: Chain):
    assert chain.noop.returncode == 0, str(chain.noop)
    assert chain.noop.changed == 0, str(chain.noop)
    assert chain.noop_writes == [], [str(request) for request in chain.noop_writes]


def tag_map(resource: dict) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", resource.get("TagList", []))}


def test_exactly_one_of_each_resource(chain: Chain):
    client = chain.server.client
    ec2 = client("ec2")
    vpcs = [vpc for vpc in ec2.describe_vpcs()["Vpcs"] if not vpc["IsDefault"]]
    assert len(vpcs) == 1 and tag_map(vpcs[0]).get("Name") == PREFIX, vpcs
    in_vpc = [{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}]
    assert len(ec2.describe_subnets(Filters=in_vpc)["Subnets"]) == 4
    assert len(ec2.describe_internet_gateways()["InternetGateways"]) == 1
    tables = ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
    assert sorted(tag_map(t).get("Name", "main") for t in tables) == [
        "main",
        NAMES["route_tables"]["private"],
        NAMES["route_tables"]["public"],
    ]
    assert len(ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]) == 1
    groups = [g["GroupName"] for g in ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]]
    assert sorted(groups) == sorted(
        ["default", *(NAMES["security_groups"][key] for key in ("alb", "app", "db", "cache"))]
    )
    assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]] == [NAMES["key_pair"]]
    alive = [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    instances = [i for r in ec2.describe_instances(Filters=alive)["Reservations"] for i in r["Instances"]]
    assert len(instances) == 1 and tag_map(instances[0]).get("Role") == "app", instances

    iam = client("iam")
    assert sorted(r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)) == sorted(
        [NAMES["app_role"], NAMES["flow_log_role"]]
    )
    profiles = iam.list_instance_profiles()["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in profiles] == [NAMES["app_role"]]
    assert [r["RoleName"] for r in profiles[0]["Roles"]] == [NAMES["app_role"]], "app hosts without credentials"
    secrets = sorted(s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"])
    assert len(secrets) == len(set(secrets)) == 5, secrets

    assert [d["DBInstanceIdentifier"] for d in client("rds").describe_db_instances()["DBInstances"]] == [NAMES["db"]]
    groups = client("elasticache").describe_replication_groups()["ReplicationGroups"]
    assert [g["ReplicationGroupId"] for g in groups] == [NAMES["redis"]]
    buckets = sorted(b["Name"] for b in client("s3").list_buckets()["Buckets"])
    # the log bucket and, with inventories/local's admin_access both, the aws_ssm transfer bucket
    transfer = platform_name("ssm_transfer_bucket_name", PREFIX)
    assert buckets == sorted([media_bucket(PREFIX), static_bucket(PREFIX), log_bucket(PREFIX), transfer])

    route53 = client("route53", "us-east-1")
    assert [z["Name"] for z in route53.list_hosted_zones()["HostedZones"]] == ["local.mensetsu.example.com."]
    for region in (REGION, "us-east-1"):
        certificates = client("acm", region).list_certificates()["CertificateSummaryList"]
        assert len(certificates) == 1, (region, certificates)
    cloudfront = client("cloudfront", "us-east-1")
    assert len(cloudfront.list_origin_access_controls()["OriginAccessControlList"].get("Items", [])) == 1
    assert len(cloudfront.list_distributions()["DistributionList"].get("Items", [])) == 1

    elb = client("elbv2")
    assert [g["TargetGroupName"] for g in elb.describe_target_groups()["TargetGroups"]] == [NAMES["target_group"]]
    assert [b["LoadBalancerName"] for b in elb.describe_load_balancers()["LoadBalancers"]] == [NAMES["alb"]]
    topics = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    assert len(topics) == 1 and topics[0].endswith(f":{NAMES['alert_topic']}"), topics


def test_the_generated_credentials_survive_the_interruptions(chain: Chain):
    """Created by an early run, they must not be regenerated by a later one (RDS keeps the first)."""
    secrets = chain.server.client("secretsmanager")
    db = json.loads(secrets.get_secret_value(SecretId="mensetsu/local/db")["SecretString"])
    assert db["password"] == chain.db_secret_at_creation["password"]
    endpoint = chain.server.client("rds").describe_db_instances()["DBInstances"][0]["Endpoint"]["Address"]
    assert db["host"] == endpoint
