#!/usr/bin/env python3
"""The local stand-in hosts that `playbooks/local_up.yml` booted, as an Ansible inventory script.

local_up.yml records the systemd-nspawn machines it booted in /run/mensetsu-local/hosts.json
(MENSETSU_LOCAL_STATE overrides the directory), with the emulator they were booted for. They
are listed only to runs against that same emulator (AWS_ENDPOINT_URL, else the default one of
`make demo`, as in group_vars/all/environment.yml): a run against another moto server (a test's)
never configures them with that server's secrets. Nothing booted: the groups stay empty.

Groups: `app` (stands in for the EC2 app instances), `local_data` (PostgreSQL and Redis
standing in for RDS and ElastiCache), both children of `nspawn` (SSH settings in group_vars/nspawn.yml).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DEFAULT_ENDPOINT = "http://127.0.0.1:5055"  # scripts/moto.sh's, the inventory's default too
STATE_DIR = Path(os.environ.get("MENSETSU_LOCAL_STATE", "/run/mensetsu-local"))


def booted_hosts() -> dict:
    """The recorded hosts, when they were booted for the emulator this run talks to."""
    try:
        record = json.loads((STATE_DIR / "hosts.json").read_text())
    except (OSError, ValueError):
        return {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT
    return record.get("hosts", {}) if record.get("endpoint") == endpoint else {}


def inventory(hosts: dict) -> dict:
    groups: dict[str, list[str]] = {"app": [], "local_data": []}
    hostvars = {}
    for name, host in sorted(hosts.items()):
        groups.setdefault(host["group"], []).append(name)
        hostvars[name] = {"ansible_host": host["address"], "ansible_ssh_private_key_file": host["identity_file"]}
    result: dict = {group: {"hosts": names} for group, names in groups.items()}
    result["nspawn"] = {"children": sorted(groups)}
    result["_meta"] = {"hostvars": hostvars}
    return result


def main() -> int:
    if "--host" in sys.argv:
        print("{}")
        return 0
    print(json.dumps(inventory(booted_hosts()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
