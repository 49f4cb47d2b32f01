#!/usr/bin/env python3
"""The local stand-in hosts as an Ansible inventory script: app hosts found through EC2, as in dev and prod.

playbooks/local_up.yml records the systemd-nspawn machines it booted in /run/mensetsu-local/hosts.json
(MENSETSU_LOCAL_STATE overrides the directory), with the emulator they were booted for. They are
listed only to runs against that same emulator (AWS_ENDPOINT_URL, else the default one of `make demo`,
as in group_vars/all/environment.yml): a run against another moto server (a test's) never configures
them with that server's secrets. Nothing booted: the groups stay empty, and EC2 is not asked.

Group `app`: what inventories/{dev,prod}/aws_ec2.yml finds, found the same way. The emulator's EC2
API is asked for running instances tagged Project/Environment/Role=app (DescribeInstances, the
aws_ec2 plugin's filters); each one whose Name is a booted app machine is listed under that name,
with its instance_id, reached at the machine's address. So before provisioning launched the
instances the group is empty, and a run finds its app hosts only by refreshing the inventory after
provisioning (playbooks/configure.yml), as a first run on AWS must. (The aws_ec2 plugin itself cannot
map an instance to a booted machine: its compose expressions cannot read hosts.json.)

Group `local_data`: the data host (PostgreSQL and Redis in place of RDS and ElastiCache), straight
from hosts.json. Both are children of `nspawn` (SSH settings in group_vars/nspawn.yml).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DEFAULT_ENDPOINT = "http://127.0.0.1:5055"  # scripts/moto.sh's, the inventory's default too
STATE_DIR = Path(os.environ.get("MENSETSU_LOCAL_STATE", "/run/mensetsu-local"))
# group_vars/all/environment.yml's region, project and environment (the instances' tags).
REGION = "ap-northeast-1"
APP_FILTERS = {
    "tag:Project": "mensetsu",
    "tag:Environment": "local",
    "tag:Role": "app",
    "instance-state-name": "running",
}


def emulator_endpoint() -> str:
    return os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT


def booted_hosts() -> dict:
    """The recorded hosts, when they were booted for the emulator this run talks to."""
    try:
        record = json.loads((STATE_DIR / "hosts.json").read_text())
    except (OSError, ValueError):
        return {}
    return record.get("hosts", {}) if record.get("endpoint") == emulator_endpoint() else {}


def running_app_instances(endpoint: str) -> dict[str, str]:
    """Name tag -> instance id of the emulator's running app instances (empty if it does not answer)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    ec2 = boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",  # moto's dummy credentials: never a real account's
        aws_secret_access_key="testing",
        # Generous: a slow answer on a loaded machine must not read as "no app hosts" (an absent
        # emulator is refused at once).
        config=Config(retries={"max_attempts": 2}, connect_timeout=10, read_timeout=120),
    )
    filters = [{"Name": name, "Values": [value]} for name, value in APP_FILTERS.items()]
    try:
        pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
        instances = [i for page in pages for r in page["Reservations"] for i in r["Instances"]]
    except (BotoCoreError, ClientError) as error:
        print(f"nspawn_hosts.py: the emulator at {endpoint} did not list the app instances: {error}", file=sys.stderr)
        return {}
    named = {}
    for instance in instances:
        name = next((tag["Value"] for tag in instance.get("Tags", []) if tag["Key"] == "Name"), None)
        if name:
            named[name] = instance["InstanceId"]
    return named


def inventory(hosts: dict, instances: dict[str, str]) -> dict:
    groups: dict[str, list[str]] = {"app": [], "local_data": []}
    hostvars = {}
    for name, host in sorted(hosts.items()):
        if host["group"] == "app":
            if name not in instances:
                continue  # booted, but no running instance of that name in EC2 (yet)
            hostvars[name] = {"instance_id": instances[name]}
        groups.setdefault(host["group"], []).append(name)
        hostvars.setdefault(name, {}).update(
            {"ansible_host": host["address"], "ansible_ssh_private_key_file": host["identity_file"]}
        )
    result: dict = {group: {"hosts": names} for group, names in groups.items()}
    result["nspawn"] = {"children": sorted(groups)}
    result["_meta"] = {"hostvars": hostvars}
    return result


def with_boto3() -> None:
    """Run again under the repository's venv when this interpreter (the PATH's python3) lacks boto3."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        venv_python = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
            os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
        raise


def main() -> int:
    if "--host" in sys.argv:
        print("{}")
        return 0
    hosts = booted_hosts()
    wants_ec2 = any(host["group"] == "app" for host in hosts.values())
    if wants_ec2:
        with_boto3()
    instances = running_app_instances(emulator_endpoint()) if wants_ec2 else {}
    print(json.dumps(inventory(hosts, instances), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
