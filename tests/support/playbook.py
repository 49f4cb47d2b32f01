"""Run ansible-playbook from the repository's venv and read its recap."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
_RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@dataclass
class PlaybookRun:
    args: list[str]
    returncode: int
    output: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return {
            host: {"ok": int(ok), "changed": int(changed), "unreachable": int(unreachable), "failed": int(failed)}
            for host, ok, changed, unreachable, failed in _RECAP.findall(self.output)
        }

    @property
    def changed(self) -> int:
        return sum(host["changed"] for host in self.recap.values())

    def __str__(self) -> str:
        return f"$ {' '.join(self.args)}\n(exit {self.returncode})\n{self.output[-12000:]}"


def run_playbook(
    playbook: str,
    inventory: str = "inventories/local",
    env: dict[str, str] | None = None,
    extra_vars: dict | None = None,
    check: bool = False,
    diff: bool = False,
    args: tuple[str, ...] = (),
    timeout: int = 1800,
) -> PlaybookRun:
    command = [str(ANSIBLE_PLAYBOOK), playbook, "-i", inventory]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    command += list(args)
    full_env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", **(env or {})}
    completed = subprocess.run(
        command, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return PlaybookRun(args=command, returncode=completed.returncode, output=completed.stdout + completed.stderr)
