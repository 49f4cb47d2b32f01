"""plugins/strategy/mitogen_linear.py: the installed collections are listed once per run.

mitogen's planner lists every collection directory before each task that runs a collection's
module, in the task's worker process, which is forked anew for every task (about 0.1 CPU-second
each time, over the ~100 collections of the ansible package). The plugin lists them in the
controller and every task reuses that list. No emulator: the real collection loader, in a Python
of its own (as ansible-playbook sets it up; the test process may have imported ansible_collections
without it).
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.playbook import REPO

CHILD = """
import importlib.util, json, sys
from types import SimpleNamespace
import ansible.collections.list
from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()
real = ansible.collections.list.list_collection_dirs
calls = []

def counted(*args, **kwargs):
    calls.append(1)
    return real(*args, **kwargs)

ansible.collections.list.list_collection_dirs = counted
spec = importlib.util.spec_from_file_location("mitogen_linear_under_test", sys.argv[1])
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
import ansible_mitogen.planner

tasks = [SimpleNamespace(_extra_sys_paths=set()) for _ in range(3)]
for task in tasks:
    ansible_mitogen.planner._load_collections(task)
print(json.dumps({
    "patched": ansible_mitogen.planner._load_collections is plugin._load_collections,
    "calls": len(calls),
    "paths": [sorted(task._extra_sys_paths) for task in tasks],
}))
"""


def test_the_collections_are_listed_once_and_every_task_gets_all_of_them() -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(REPO / "plugins/strategy/mitogen_linear.py")],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert child.returncode == 0, child.stderr
    found = json.loads(child.stdout.strip().splitlines()[-1])
    assert found["patched"] is True
    assert found["calls"] == 1, "the collections were listed again for a later task"
    first, *others = found["paths"]
    assert any(path.endswith("ansible_collections/amazon/aws") for path in first), first[:5]
    assert all(paths == first for paths in others)
