"""Run the drift playbook (directly, or through scripts/drift.sh) against inventories/local and
read its report, validated against schemas/drift-report.schema.json."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from tests.support.playbook import REPO

VENV_BIN = REPO / ".venv" / "bin"
SCHEMA = REPO / "schemas" / "drift-report.schema.json"


@dataclass
class DriftRun:
    returncode: int
    output: str
    report: dict
    markdown: str
    stdout: str = ""

    def __str__(self) -> str:
        return f"(exit {self.returncode})\n{self.output[-8000:]}"

    def items(self, resource: str = "", attribute: str = "") -> list[dict]:
        return [
            item
            for item in self.report.get("items", [])
            if resource in item["resource"]
            and (not attribute or item["attribute"] == attribute or item["attribute"].endswith("." + attribute))
        ]

    def of_type(self, aws_type: str) -> list[dict]:
        """The items about resources of one CloudFormation type (AWS::EC2::SecurityGroup)."""
        return [item for item in self.report.get("items", []) if item["identity"]["type"] == aws_type]

    def tail(self, count: int = 200) -> list[str]:
        """The run's last non-empty lines on stdout (warnings go to stderr, read apart from it)."""
        return [line for line in self.stdout.splitlines() if line.strip()][-count:]


def validate_report(report: dict) -> None:
    """Fail unless the report matches the repository's drift report schema."""
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(report), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(error.path)}: {error.message[:300]}" for error in errors[:10])


def _run(command: list[str], env: dict[str, str], report_dir: Path) -> DriftRun:
    before = set(report_dir.glob("drift-*.json"))
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False)
    new = sorted(set(report_dir.glob("drift-*.json")) - before)
    report = json.loads(new[-1].read_text()) if new else {}
    if report:
        validate_report(report)
    markdown = new[-1].with_suffix(".md").read_text() if new else ""
    return DriftRun(completed.returncode, completed.stdout + completed.stderr, report, markdown, completed.stdout)


def run_drift(env: dict[str, str], report_dir: Path, args: tuple[str, ...] = ()) -> DriftRun:
    """scripts/drift.sh local [args], with its report written under report_dir."""
    full_env = {
        **os.environ,
        **env,
        "DRIFT_REPORT_DIR": str(report_dir),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
    }
    return _run([str(REPO / "scripts" / "drift.sh"), "local", *args], full_env, report_dir)


def run_drift_playbook(
    env: dict[str, str], report_dir: Path, args: tuple[str, ...] = (), inventory: str = "inventories/local"
) -> DriftRun:
    """`ansible-playbook playbooks/drift.yml -i inventories/local [args]` as a job runner starts it:
    no --check, no wrapper, and the callback settings ansible-runner (AWX) gives every job (its own
    callback directory in ANSIBLE_CALLBACK_PLUGINS, no ANSIBLE_CALLBACKS_ENABLED)."""
    callbacks = report_dir / "runner-callbacks"
    callbacks.mkdir(exist_ok=True)
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "DRIFT_"))}
    full_env = {
        **inherited,
        **env,
        "ANSIBLE_CALLBACK_PLUGINS": str(callbacks),
        "DRIFT_REPORT_DIR": str(report_dir),
        "ANSIBLE_NOCOLOR": "1",
    }
    command = [str(VENV_BIN / "ansible-playbook"), "playbooks/drift.yml", "-i", inventory, *args]
    return _run(command, full_env, report_dir)
