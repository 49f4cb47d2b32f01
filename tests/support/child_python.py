"""A test's script run in a Python of its own, for code that patches libraries process-wide (the
strategy plugin patches mitogen's planner and Jinja): never imported into the test process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.support.playbook import REPO


def run_child_python(script: str, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run `script` with `args` in the venv's Python from the repository root, with this process's
    environment and `env` on top; it must succeed, and its last line of output is JSON, returned."""
    child = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout.strip().splitlines()[-1])
