"""Run one module the way a playbook task runs it, without a playbook: its real main() in a fork of the
test process, against the real moto server.

As Ansible's own unit tests and amazon.aws's run a module: the arguments go in through ansible-core's
`ansible.module_utils.testing.patch_module_args`, with the internal arguments a playbook's task adds
(`_ansible_check_mode`, `_ansible_diff`, ...: ansible/plugins/action/__init__.py `_update_module_args`),
and the module's `exit_json`/`fail_json` print its JSON result and exit, as under AnsiballZ. The
result is what the task's result is in a playbook run (tests/support/playbook.py `task_result_json`):
the module's JSON with `failed` and `changed` as ansible-core's TaskExecutor and its callbacks show them
(`failed` only when true), and its warnings and deprecations as the messages the controller shows.

Each call is a fork of the test process: the child has boto3, ansible and the module's code already
imported (the parent imports them once), runs main() and exits; nothing it changes (the module's
globals, ansible's collected warnings, botocore's caches, the environment) reaches the next call.
A one-task ansible-playbook run costs 2-3 CPU-seconds (the interpreter, ansible's imports, the
inventory and its variables, the worker process); a forked call costs what the module itself does.

The AWS endpoint, region and credentials come from the test's environment (the `aws` fixture), as a
playbook's `environment: "{{ aws_env }}"` gives them to its tasks; `env` adds to it for one call.

What stays with a playbook run (tests/support/playbook.py): what the playbook itself does, the
callback's output, no_log censoring of a task, templating, a role's task, and the module as Ansible
loads it (its argument spec through the action plugin, `environment:`). Every module of library/
keeps at least one playbook run in its tests.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import ansible
import ansible_collections.amazon.aws.plugins.module_utils.modules  # noqa: F401 - imported once, for every fork
import boto3  # noqa: F401 - imported once, for every fork
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.testing import patch_module_args

from .library_code import load_library_module
from .playbook import JSON_OUTPUT, run_playbook, task_result_json

_MODULES: dict[str, ModuleType] = {}


def _module_code(name: str) -> ModuleType:
    """library/<name>.py, or a collection's module by its full name (community.aws.elasticache_subnet_group)."""
    if name not in _MODULES:
        if "." in name:
            namespace, collection, module = name.split(".")
            _MODULES[name] = importlib.import_module(
                f"ansible_collections.{namespace}.{collection}.plugins.modules.{module}"
            )
        else:
            _MODULES[name] = load_library_module(name)
    return _MODULES[name]


def task_args(name: str, args: dict[str, Any], check: bool, diff: bool, no_log: bool) -> dict[str, Any]:
    """The module's arguments with the internal ones a playbook's task adds (ActionBase._update_module_args)."""
    return {
        **args,
        "_ansible_check_mode": check,
        "_ansible_no_log": no_log,
        "_ansible_debug": False,
        "_ansible_diff": diff,
        "_ansible_verbosity": 0,
        "_ansible_version": ansible.__version__,
        "_ansible_module_name": name,
        "_ansible_selinux_special_fs": ["fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"],
        "_ansible_shell_executable": "/bin/sh",
        "_ansible_keep_remote_files": False,
        "_ansible_tmpdir": None,
        "_ansible_remote_tmp": tempfile.gettempdir(),
        "_ansible_ignore_unknown_opts": False,
    }


def _child(code: ModuleType, arguments: dict[str, Any], env: dict[str, str], out: int, err: int) -> None:
    """In the fork: become the module, print its result to `out`, exit."""
    status = 0
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.stdin = open(os.devnull)  # noqa: SIM115 - the child's whole life
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        os.environ.update(env)
        # A module process, as under AnsiballZ: once the test process has imported Ansible's
        # controller code (another test loading a callback or filter plugin), module_utils' warn()
        # would hand warnings to the controller's Display instead of the module's result.
        module_utils_internal.is_controller = False
        with patch_module_args(arguments):
            try:
                code.main()
            except SystemExit as done:
                status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # a module's unhandled error: AnsiballZ prints the traceback and exits 1
        traceback.print_exc()
        status = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(status)


def _read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def _message(entry: Any) -> str:
    """A warning or deprecation as the controller shows it: its message (a module sends a dict or a string)."""
    return entry.get("msg", str(entry)) if isinstance(entry, dict) else str(entry)


def run_module(
    name: str,
    args: dict[str, Any],
    check: bool = False,
    diff: bool = True,
    env: dict[str, str] | None = None,
    no_log: bool = False,
    failures: int = 0,
) -> dict[str, Any]:
    """The task result of module `name` (library/<name>.py, or a collection module by full name) called
    with `args`, in check mode when `check`, with diff when `diff` (module tests run with --diff).
    The result must be failed when `failures` is 1 (a test that expects the module to fail says so),
    as task_result_json checks a run's failures."""
    code = _module_code(name)
    arguments = task_args(name, args, check, diff, no_log)
    out_read, out_write = os.pipe()
    with tempfile.TemporaryFile() as errors:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(out_read)
            _child(code, arguments, env or {}, out_write, errors.fileno())
        os.close(out_write)
        stdout = _read_all(out_read)
        _, status = os.waitpid(pid, 0)
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    result = _task_result(stdout, stderr, os.waitstatus_to_exitcode(status))
    assert result.get("failed", False) is bool(failures), f"{name} {json.dumps(args, default=str)}: {result}"
    return result


def _task_result(stdout: str, stderr: str, returncode: int) -> dict[str, Any]:
    """The module's output as the task's result: what TaskExecutor makes of it."""
    start = stdout.find("{")
    try:
        result, _ = json.JSONDecoder().raw_decode(stdout[start:]) if start >= 0 else (None, 0)
    except ValueError:
        result = None
    if not isinstance(result, dict):  # as ansible-core reports a module that printed no JSON
        return {
            "failed": True,
            "changed": False,
            "msg": "MODULE FAILURE: See stdout/stderr for the exact error",
            "module_stdout": stdout,
            "module_stderr": stderr,
            "rc": returncode,
        }
    for key in ("warnings", "deprecations"):
        if key in result:
            result[key] = [_message(entry) for entry in result[key]]
    if "failed" not in result and "rc" in result and result["rc"] not in (0, "0"):
        result["failed"] = True
    if result.get("failed") is False:  # the task result shows `failed` only when true
        del result["failed"]
    result.setdefault("changed", False)
    return result


# The one-task playbook of play_module: the module as a role's task runs it, in a play on localhost
# with the inventory's `environment: "{{ aws_env }}"`, each option templated from the extra variable
# `module_args` (a whole templated argument dict would make ansible-core warn).
_PLAYBOOK = """---
- name: Run one module as a task, for the module tests (tests/support/module.py)
  hosts: localhost
  gather_facts: false
  environment: "{{{{ aws_env }}}}"
  tasks:
    - name: Run {name}
      {name}:
{options}      no_log: "{{{{ module_no_log }}}}"
"""
_PLAYBOOKS: list[Path] = []  # the directory of the generated playbooks, made on the first play_module


def _playbook(name: str, options: list[str]) -> Path:
    if not _PLAYBOOKS:
        _PLAYBOOKS.append(Path(tempfile.mkdtemp(prefix="module-playbooks-")))
        atexit.register(shutil.rmtree, _PLAYBOOKS[0], True)
    lines = "".join(f'        {option}: "{{{{ module_args[{option!r}] }}}}"\n' for option in sorted(options))
    text = _PLAYBOOK.format(name=name, options=lines)
    playbook = _PLAYBOOKS[0] / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yml"
    if not playbook.exists():
        playbook.write_text(text)
    return playbook


def play_module(
    name: str,
    args: dict[str, Any],
    check: bool = False,
    diff: bool = True,
    env: dict[str, str] | None = None,
    no_log: bool = False,
    failures: int = 0,
) -> dict[str, Any]:
    """What run_module does, through a real ansible-playbook run of a one-task playbook: the module as
    Ansible loads it (its action plugin, the argument spec, the play's `environment:`, templating).
    The task's result from the JSON callback, with the host's PLAY RECAP counts as `stats`."""
    run = run_playbook(
        str(_playbook(name, list(args))),
        extra_vars={"module_args": args, "module_no_log": no_log},
        check=check,
        diff=diff,
        env={**JSON_OUTPUT, **(env or {})},
    )
    return task_result_json(run, failures=failures)


# What a playbook run's task result has that the module's own result has not.
PLAYBOOK_KEYS = ("_ansible_no_log", "action", "stats", "exception")


def module_result(played: dict[str, Any]) -> dict[str, Any]:
    """A play_module result without what only the playbook adds: comparable with run_module's."""
    return {key: value for key, value in played.items() if key not in PLAYBOOK_KEYS}
