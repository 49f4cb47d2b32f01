"""plugins/strategy/mitogen_linear.py: the installed collections are listed once per run.

mitogen's planner lists every collection directory before each task that runs a collection's
module, in the task's worker process, which is forked anew for every task (about 0.1 CPU-second
each time, over the ~100 collections of the ansible package). The plugin lists them in the
controller and every task reuses that list. No emulator: the real collection loader, in-process.
"""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import ansible.collections.list
import pytest
from ansible.plugins.loader import init_plugin_loader

from tests.support.playbook import REPO


def test_the_collections_are_listed_once_and_every_task_gets_all_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    init_plugin_loader()
    real = ansible.collections.list.list_collection_dirs
    calls: list[int] = []

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ansible.collections.list, "list_collection_dirs", counted)
    spec = importlib.util.spec_from_file_location(
        "mitogen_linear_under_test", REPO / "plugins/strategy/mitogen_linear.py"
    )
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    import ansible_mitogen.planner

    assert ansible_mitogen.planner._load_collections is plugin._load_collections
    tasks = [SimpleNamespace(_extra_sys_paths=set()) for _ in range(3)]
    for task in tasks:
        ansible_mitogen.planner._load_collections(task)
    assert len(calls) == 1, "the collections were listed again for a later task"
    paths = tasks[0]._extra_sys_paths
    assert any(path.endswith("ansible_collections/amazon/aws") for path in paths), sorted(paths)[:5]
    assert all(task._extra_sys_paths == paths for task in tasks)
