"""A library/ module's functions in the test process, for tests that feed them AWS's own answers.

The module runs as Ansible runs it everywhere else; these tests call its functions directly, with a
botocore client (under botocore's Stubber, which validates every request against the service model)
or with responses shaped as AWS returns them, where the emulator cannot show AWS's behaviour.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class _RepoModuleUtils(importlib.abc.MetaPathFinder):
    """ansible.module_utils.<name> from the repository's module_utils/, as ansible.cfg's module_utils
    path makes it for the modules Ansible runs."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):
        prefix = "ansible.module_utils."
        if not fullname.startswith(prefix) or "." in fullname[len(prefix) :]:
            return None
        source = REPO / "module_utils" / f"{fullname[len(prefix) :]}.py"
        return importlib.util.spec_from_file_location(fullname, source) if source.exists() else None


def load_library_module(name: str) -> ModuleType:
    """library/<name>.py imported as a Python module (its main() is not run)."""
    if not any(isinstance(finder, _RepoModuleUtils) for finder in sys.meta_path):
        sys.meta_path.append(_RepoModuleUtils())
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", REPO / "library" / f"{name}.py")
    assert spec and spec.loader
    code = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code)
    return code


class ModuleFailed(Exception):
    pass


class TaskModule:
    """What a module's functions read from AnsibleAWSModule: the task's parameters, check mode, failures."""

    def __init__(self, params: dict[str, Any], check_mode: bool = False) -> None:
        self.params = params
        self.check_mode = check_mode
        self.warnings: list[str] = []

    def fail_json(self, msg: str, **_: Any) -> None:
        raise ModuleFailed(msg)

    def fail_json_aws(self, error: Exception, msg: str) -> None:
        raise ModuleFailed(f"{msg}: {error}")

    def warn(self, message: str) -> None:
        self.warnings.append(message)
