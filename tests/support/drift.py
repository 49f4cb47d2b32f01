"""Run scripts/drift.sh against inventories/local and read its report."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.playbook import REPO

VENV_BIN = REPO / ".venv" / "bin"


@dataclass
class DriftRun:
    returncode: int
    output: str
    report: dict
    markdown: str

    def __str__(self) -> str:
        return f"(exit {self.returncode})\n{self.output[-8000:]}"

    def items(self, resource: str = "", attribute: str = "") -> list[dict]:
        return [
            item
            for item in self.report.get("items", [])
            if resource in item["resource"]
            and (not attribute or item["attribute"] == attribute or item["attribute"].endswith("." + attribute))
        ]


def run_drift(env: dict[str, str], report_dir: Path, args: tuple[str, ...] = ()) -> DriftRun:
    """scripts/drift.sh local [args], with its report written under report_dir."""
    before = set(report_dir.glob("drift-*.json"))
    full_env = {
        **os.environ,
        **env,
        "DRIFT_REPORT_DIR": str(report_dir),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
    }
    completed = subprocess.run(
        [str(REPO / "scripts" / "drift.sh"), "local", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    new = sorted(set(report_dir.glob("drift-*.json")) - before)
    report = json.loads(new[-1].read_text()) if new else {}
    markdown = new[-1].with_suffix(".md").read_text() if new else ""
    return DriftRun(completed.returncode, completed.stdout + completed.stderr, report, markdown)
