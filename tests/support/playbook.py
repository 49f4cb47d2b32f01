"""Run ansible-playbook from the repository's venv and read its output: the one parser of the
default callback's text (PLAY RECAP, plays, tasks, the first failure) that every test uses."""

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
_FIRST_FAILURE = re.compile(r"^\[ERROR\]: (.*?)(?=^(?:fatal|failed|\S+ \[|PLAY RECAP)|\Z)", re.M | re.S)


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP's counts per host: {"localhost": {"ok": 3, "changed": 0, ...}}."""
    return {
        host: {"ok": int(ok), "changed": int(changed), "unreachable": int(unreachable), "failed": int(failed)}
        for host, ok, changed, unreachable, failed in _RECAP.findall(output)
    }


def plays(output: str) -> list[str]:
    """The names of the plays the run started, in order."""
    return re.findall(r"^PLAY \[(.*)\] \*", output, re.M)


def task_start(output: str, task: str) -> int:
    """Where the output starts the task `task` (TASK [role : name])."""
    match = re.search(rf"^TASK \[{re.escape(task)}\]", output, re.M)
    assert match, f"no task {task!r} in the output"
    return match.start()


def task_result(output: str, task: str) -> str:
    """The first result word (ok, changed, skipping, ...) printed under the task `task`."""
    match = re.search(rf"^TASK \[{re.escape(task)}\].*?^(\w+):", output, re.M | re.S)
    assert match, f"no task {task!r} in the output"
    return match.group(1)


def changed_tasks(output: str) -> list[str]:
    """The tasks that reported `changed:` for some host."""
    return re.findall(r"^TASK \[(.*?)\].*\n(?:(?!TASK \[).*\n)*?changed: ", output, re.M)


# Ansible's own warnings, and a Python warning printed by an import (e.g. cryptography 51's
# "CryptographyDeprecationWarning: DSA is deprecated" from ansible-core's SSH agent code).
_WARNING = re.compile(r"\[(?:DEPRECATION )?WARNING\]|\b[A-Z]\w*Warning: ")


def warning_lines(output: str) -> list[str]:
    """The lines of a run's output that carry a warning or a deprecation warning."""
    return [line for line in output.splitlines() if _WARNING.search(line)]


def first_failure(output: str) -> str:
    """The first failure's message: the default callback's [ERROR] line and what it continues with."""
    match = _FIRST_FAILURE.search(output)
    return " ".join(match.group(1).split()) if match else ""


# The environment of a run whose task results a test reads: the JSON stdout callback prints them.
JSON_OUTPUT: dict[str, str] = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}


def json_document(output: str) -> dict:
    """The document a JSON stdout callback printed (it starts on the first line opening with `{`:
    the timing callback may print a line before it)."""
    start = re.search(r"^\{", output, re.M)
    assert start, output[-12000:]
    document, _ = json.JSONDecoder().raw_decode(output[start.start() :])
    return document


def task_result_json(
    run: PlaybookRun, task: int = 0, register: str | None = None, host: str = "localhost", failures: int = 0
) -> dict:
    """The result of the first play's task number `task` (-1: the last) on `host`, from a run with
    JSON_OUTPUT: what the task printed or, with `register`, the variable the task shows with
    `debug: var=...`. The host's PLAY RECAP counts are added as `stats`; the run must have counted
    `failures` failures (0 unless a test expects a failed task)."""
    document = json_document(run.output)
    result = document["plays"][0]["tasks"][task]["hosts"][host]
    if register is not None:
        result = result[register]
    result["stats"] = document["stats"][host]
    assert result["stats"]["failures"] == failures, run
    return result


def unwrap(output: str) -> str:
    """The output with the YAML callback's line wrapping and quote doubling undone."""
    return " ".join(output.replace("''", "'").split())


@dataclass
class PlaybookRun:
    args: list[str]
    returncode: int
    output: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return recap(self.output)

    @property
    def changed(self) -> int:
        return sum(host["changed"] for host in self.recap.values())

    def __str__(self) -> str:
        return f"$ {' '.join(self.args)}\n(exit {self.returncode})\n{self.output[-12000:]}"


def playbook_argv(
    playbook: str,
    inventory: str = "inventories/local",
    extra_vars: dict | None = None,
    check: bool = False,
    diff: bool = False,
    args: tuple[str, ...] = (),
) -> list[str]:
    """ansible-playbook's arguments (without the program)."""
    argv = [playbook, "-i", inventory]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    return argv + list(args)


def playbook_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a run gets: this process's, without colours, and `env` on top."""
    return {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", **(env or {})}


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
    command = [str(ANSIBLE_PLAYBOOK), *playbook_argv(playbook, inventory, extra_vars, check, diff, args)]
    completed = subprocess.run(
        command, cwd=REPO, env=playbook_env(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    return PlaybookRun(args=command, returncode=completed.returncode, output=completed.stdout + completed.stderr)
