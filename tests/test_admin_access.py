"""admin_access (docs/security.md) without a whole stack: the network and security stages against
the session's moto server, and the dev inventory's connection variables.

- ssm: the app hosts' group holds table 4.4's rules without port 22; a second run changes nothing;
  port 22 added back by hand is a drift item of the app group (the drift playbook, --tags
  security) and the next run removes it.
- The dev inventory connects to an app host through amazon.aws.aws_ssm (to its instance id, with
  the transfer bucket) when admin_access is ssm, and over SSH otherwise.

Four partial provision runs (network, security) and one drift run: 17 min wall measured while the
shared 2-core machine ran seven helpers' jobs (lint, two stack tests, three provisions at once).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.drift import run_drift_playbook
from tests.support.naming import names, platform_name
from tests.support.playbook import REPO, json_document, run_playbook

NAMES = names("mensetsu-local")
SSM = {"admin_access": "ssm"}
STAGES = ("--tags", "network,security")


def app_group_ports(ec2) -> list[int]:
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [NAMES["security_groups"]["app"]]}])
    return sorted(permission["FromPort"] for permission in group["SecurityGroups"][0]["IpPermissions"])


@pytest.mark.stack  # converges two stages of provision.yml four times: not in make test-fast
def test_ssm_closes_port_22_and_drift_reports_it_opened_again(aws, boto, tmp_path: Path) -> None:
    ec2 = boto("ec2")
    first = run_playbook("playbooks/provision.yml", extra_vars=SSM, args=STAGES)
    assert first.returncode == 0, str(first)
    assert app_group_ports(ec2) == [8000]
    again = run_playbook("playbooks/provision.yml", extra_vars=SSM, args=STAGES)
    assert again.returncode == 0 and again.changed == 0, str(again)

    group_id = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [NAMES["security_groups"]["app"]]}]
    )["SecurityGroups"][0]["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.0.2.10/32"}]}],
    )
    drift = run_drift_playbook(aws.env, tmp_path, ("--tags", "security", "-e", json.dumps(SSM)))
    assert drift.returncode != 0, str(drift)
    (item,) = drift.items(resource=group_id)
    assert item["extra"] == ["tcp 22 from 192.0.2.10/32"] and item["identity"]["type"] == "AWS::EC2::SecurityGroup"

    fixed = run_playbook("playbooks/provision.yml", extra_vars=SSM, args=STAGES)
    assert fixed.returncode == 0, str(fixed)
    assert app_group_ports(ec2) == [8000]
    # The default (ssh) puts the seed's rule back.
    ssh = run_playbook("playbooks/provision.yml", args=STAGES)
    assert ssh.returncode == 0, str(ssh)
    assert app_group_ports(ec2) == [22, 8000]


def connection_of_an_app_host(tmp_path: Path, admin_access: str) -> dict:
    """The dev inventory's variables for an EC2 app host (as aws_ec2.yml would add it), by admin_access."""
    host = tmp_path / "app_host.yml"
    host.write_text(
        "all:\n  children:\n    app:\n      hosts:\n        mensetsu-dev-app-1:\n"
        "          ansible_aws_ssm_instance_id: i-0123456789abcdef0\n"
    )
    expression = (
        "{{ {'connection': ansible_connection, 'instance': ansible_aws_ssm_instance_id,"
        " 'region': ansible_aws_ssm_region, 'bucket': ansible_aws_ssm_bucket_name} }}"
    )
    command = [
        str(Path(sys.executable).with_name("ansible")), "mensetsu-dev-app-1",
        "-i", "inventories/dev/hosts.yml", "-i", str(host), "-m", "ansible.builtin.debug", "-a", f"msg={expression}",
        "-e", json.dumps({"admin_access": admin_access, "aws_account_id": "111122223333"}),
    ]  # fmt: skip
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "PATH": ""}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json_document(done.stdout)
    return report["plays"][0]["tasks"][0]["hosts"]["mensetsu-dev-app-1"]["msg"]


def test_the_inventory_connects_through_session_manager_only_with_ssm(tmp_path: Path) -> None:
    ssm = connection_of_an_app_host(tmp_path, "ssm")
    bucket = platform_name("ssm_transfer_bucket_name", "mensetsu-dev", "111122223333")
    assert ssm == {
        "connection": "amazon.aws.aws_ssm",
        "instance": "i-0123456789abcdef0",
        "region": "ap-northeast-1",
        "bucket": bucket,
    }
    assert connection_of_an_app_host(tmp_path, "both")["connection"] == "ssh"
    assert connection_of_an_app_host(tmp_path, "ssh")["connection"] == "ssh"
