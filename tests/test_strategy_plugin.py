"""plugins/strategy/mitogen_linear.py: the installed collections are listed once per run, and the
AWS modules run in mitogen's persistent interpreter instead of a fork each.

mitogen's planner lists every collection directory before each task that runs a collection's
module, in the task's worker process, which is forked anew for every task (about 0.1 CPU-second
each time, over the ~100 collections of the ansible package). The plugin lists them in the
controller and every task reuses that list. No emulator: the real collection loader, in a Python
of its own (as ansible-playbook sets it up; the test process may have imported ansible_collections
without it).
"""

from __future__ import annotations

import re
import sys

from tests.support.child_python import run_child_python
from tests.support.playbook import JSON_OUTPUT, REPO, json_document, recap, run_playbook, warning_lines

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
    found = run_child_python(CHILD, str(REPO / "plugins/strategy/mitogen_linear.py"))
    assert found["patched"] is True
    assert found["calls"] == 1, "the collections were listed again for a later task"
    first, *others = found["paths"]
    assert any(path.endswith("ansible_collections/amazon/aws") for path in first), first[:5]
    assert all(paths == first for paths in others)


FORK_CHILD = """
import importlib.util, json, sys
from types import SimpleNamespace
from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()
spec = importlib.util.spec_from_file_location("mitogen_linear_under_test", sys.argv[1])
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
import ansible_mitogen.planner

AWS = ("ansible_collections.amazon.aws.plugins.module_utils.modules", "/c/modules.py", False)
OWN = ("ansible.module_utils.aws_module", sys.argv[2] + "/module_utils/aws_module.py", False)
SHADOW = ("ansible.module_utils.basic", sys.argv[2] + "/module_utils/basic.py", False)

def forks(name="amazon.aws.ec2_vpc_net", custom=(AWS, OWN), task_vars=None, wrap_async=False, transport="local"):
    planner = ansible_mitogen.planner.NewStylePlanner.__new__(ansible_mitogen.planner.NewStylePlanner)
    planner._inv = SimpleNamespace(
        module_name=name, task_vars=task_vars or {}, wrap_async=wrap_async,
        connection=SimpleNamespace(transport=transport),
    )
    planner._module_map = {"builtin": [], "custom": list(custom)}
    return planner.should_fork()

print(json.dumps({
    "aws module": forks(),
    "builtin only": forks(name="ansible.builtin.command", custom=()),
    "shadowing ansible-core": forks(custom=(AWS, SHADOW)),
    "isolation fork": forks(task_vars={"mitogen_task_isolation": "fork"}),
    "always-fork module": forks(name="ansible.builtin.dnf"),
    "async": forks(wrap_async=True),
    "managed host, custom module_utils": forks(name="community.general.timezone", transport="ssh"),
    "managed host, builtin only": forks(name="ansible.builtin.apt", custom=(), transport="ssh"),
}))
"""


def test_modules_with_module_utils_outside_ansible_core_run_in_the_persistent_interpreter() -> None:
    # mitogen forked a clean interpreter for each of them (every AWS module: boto3 imported and
    # botocore's models loaded anew per task). On the local connection only what can conflict or
    # must be isolated forks now; on a managed host mitogen's own rule stands.
    assert run_child_python(FORK_CHILD, str(REPO / "plugins/strategy/mitogen_linear.py"), str(REPO)) == {
        "aws module": False,
        "builtin only": False,
        "shadowing ansible-core": True,
        "isolation fork": True,
        "always-fork module": True,
        "async": True,
        "managed host, custom module_utils": True,
        "managed host, builtin only": False,
    }


PID_MODULE = """#!/usr/bin/python
from ansible.module_utils.aws_module import _SESSIONS, _LOCK, shared_session
from ansible.module_utils.basic import AnsibleModule
import os

module = AnsibleModule(argument_spec={}, supports_check_mode=True)
before = len(_SESSIONS)
with _LOCK:
    shared_session()
module.exit_json(changed=False, pid=os.getpid(), sessions_before=before)
"""

PID_PLAYBOOK = """---
- name: Two tasks of a module that imports the project's module_utils
  hosts: localhost
  gather_facts: false
  tasks:
    - name: First
      session_pid:
      register: first
    - name: Second
      session_pid:
      register: second
    - name: Show
      ansible.builtin.debug:
        msg: "PIDS {{ first.pid }} {{ second.pid }} {{ first.sessions_before }} {{ second.sessions_before }}"
"""


def test_a_run_s_aws_modules_share_one_process_and_its_boto3_session(tmp_path) -> None:
    # Under the project's configuration (mitogen_linear): the second task runs in the first one's
    # process and finds the boto3 session it made (module_utils/aws_module.py's shared_session).
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "session_pid.py").write_text(PID_MODULE)
    (tmp_path / "play.yml").write_text(PID_PLAYBOOK)
    run = run_playbook(
        str(tmp_path / "play.yml"),
        "localhost,",
        env={
            "ANSIBLE_LIBRARY": f"{tmp_path / 'library'}:{REPO / 'library'}",
            "ANSIBLE_STRATEGY": "mitogen_linear",  # the project's, whatever the caller's environment says
            "AWS_DEFAULT_REGION": "ap-northeast-1",
        },
        args=("-c", "local", "-e", f"ansible_python_interpreter={sys.executable}"),
    )
    assert run.returncode == 0, run
    first_pid, second_pid, first_before, second_before = re.search(r"PIDS (\d+) (\d+) (\d+) (\d+)", run.output).groups()
    assert first_pid == second_pid, "each task ran in a process of its own (a fork per task)"
    assert (int(first_before), int(second_before)) == (0, 1), "the second task did not find the first one's session"


WARM_PROBE_MODULE = """#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule
import os, sys

module = AnsibleModule(argument_spec={}, supports_check_mode=True)
loader = sys.modules.get("botocore.loaders")
module.exit_json(
    changed=False,
    pid=os.getpid(),
    boto3="boto3" in sys.modules,
    caches=bool(loader and getattr(loader.Loader.load_service_model, "shared_by_mensetsu", False)),
)
"""

WARM_PLAYBOOK = """---
- name: A play that asks for the warm-up, then works on the controller first
  hosts: localhost
  gather_facts: false
  vars:
    aws_modules_warm_up: "{{ warm | bool }}"
  tasks:
    - name: Controller work
      ansible.builtin.set_fact:
        started: true
    - name: Probe the modules' interpreter
      warm_probe:
      register: probe
      # The warm-up's call and this one reach the one interpreter in either order; each retry
      # is a call of its own, so the warm-up runs between two of them.
      until: probe.boto3 or not (warm | bool)
      retries: 60
      delay: 1
    - name: Probe it again
      warm_probe:
      register: again
    - name: Show
      ansible.builtin.debug:
        msg: "PROBE {{ probe.boto3 }} {{ probe.caches }} {{ probe.pid == again.pid }}"
"""


def test_a_play_that_asks_for_it_has_the_modules_interpreter_warmed_up_in_the_background(tmp_path) -> None:
    # The strategy starts library/aws_interpreter_warm_up.py beside the play's first task, in the
    # interpreter the play's modules then run in: boto3 imported and the caches installed there,
    # though no task of the play imported them. Its worker prints nothing and counts for no task.
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "warm_probe.py").write_text(WARM_PROBE_MODULE)
    (tmp_path / "play.yml").write_text(WARM_PLAYBOOK)
    runs = {}
    for warm in ("true", "false"):
        runs[warm] = run_playbook(
            str(tmp_path / "play.yml"),
            "localhost,",
            env={
                "ANSIBLE_LIBRARY": f"{tmp_path / 'library'}:{REPO / 'library'}",
                "ANSIBLE_STRATEGY": "mitogen_linear",
                "AWS_DEFAULT_REGION": "ap-northeast-1",
            },
            args=("-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"warm={warm}"),
        )
        assert runs[warm].returncode == 0, runs[warm]
        assert recap(runs[warm].output)["localhost"]["ok"] == 4, "the warm-up counted as a task"
        assert "warm up" not in runs[warm].output.lower()
        assert warning_lines(runs[warm].output) == []
    assert "PROBE True True True" in runs["true"].output
    assert "PROBE False False True" in runs["false"].output, "boto3 was imported without the warm-up"


CONTROLLER_PLAYBOOK = """---
- name: Controller tasks and skips, as a worker runs them
  hosts: localhost
  gather_facts: false
  vars:
    base: mensetsu
  tasks:
    - name: A fact
      ansible.builtin.set_fact:
        full: "{{ base }}-x"
        first_pid: "{{ lookup('ansible.builtin.pipe', 'echo $PPID') }}"
        cacheable: true
      register: fact_result
    - name: Another fact, templated in the same process as the first when the controller runs both
      ansible.builtin.set_fact:
        second_pid: "{{ lookup('ansible.builtin.pipe', 'echo $PPID') }}"
    - name: A passing assert
      ansible.builtin.assert:
        that: [full == 'mensetsu-x']
        success_msg: fine
    - name: A skip with a reason
      ansible.builtin.ping:
      when: full == 'nope'
      register: skipped_result
    - name: A module whose condition holds (a worker runs it)
      ansible.builtin.ping:
        data: "{{ full }}"
      when: full == 'mensetsu-x'
      register: ping_result
    - name: A debug of the results
      ansible.builtin.debug:
        msg: "{{ [fact_result.ansible_facts.full, skipped_result.false_condition, ping_result.ping] }}"
    - name: A failing assert, ignored
      ansible.builtin.assert:
        that: [full == 'other']
        fail_msg: "full is {{ full }}"
      ignore_errors: true
      register: failed_assert
    - name: A fact whose changed_when holds
      ansible.builtin.set_fact:
        other: 1
      changed_when: true
    - name: A secret
      ansible.builtin.debug:
        msg: "{{ 'hidden' }}"
      no_log: true
    - name: A block that fails and is rescued
      block:
        - name: Fail on purpose
          ansible.builtin.fail:
            msg: "failing {{ full }}"
      rescue:
        - name: Rescued
          ansible.builtin.debug:
            msg: "{{ ansible_failed_result.msg }}"
    - name: A skip of a controller action
      ansible.builtin.set_fact:
        never: true
      when: failed_assert is succeeded
    - name: A condition on an undefined variable
      ansible.builtin.debug:
        msg: unreachable
      when: no_such_variable.attribute
      ignore_errors: true
    - name: A fact in a loop (always a worker)
      ansible.builtin.set_fact:
        looped: "{{ item }}"
      loop: [1, 2]
    - name: Variables from a file
      ansible.builtin.include_vars: extra_vars.yml
    - name: Arguments checked against a spec
      ansible.builtin.validate_argument_spec:
        argument_spec:
          from_file: {type: str, required: true}
        provided_arguments:
          from_file: "{{ from_file }}"
    - name: Tasks from a file
      ansible.builtin.include_tasks: included.yml
    - name: A role
      ansible.builtin.include_role:
        name: tiny
    - name: The included tasks' and role's facts
      ansible.builtin.debug:
        msg: "{{ [from_file, included_fact, role_fact] }}"
"""
EXTRA_FILES = {
    "extra_vars.yml": "from_file: loaded\n",
    "included.yml": (
        "- name: A fact in an included file\n"
        "  ansible.builtin.set_fact:\n"
        '    included_fact: "{{ from_file }}-included"\n'
        "- name: A module in an included file\n"
        "  ansible.builtin.ping:\n"
    ),
    "roles/tiny/tasks/main.yml": (
        '- name: A fact in a role\n  ansible.builtin.set_fact:\n    role_fact: "{{ from_file }}-role"\n'
    ),
}


def _results(output: str) -> tuple[list, dict]:
    document = json_document(output)
    results = [
        (task["task"]["name"], {key: value for key, value in result.items() if key != "duration"})
        for play in document["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
    ]
    return results, document["stats"]


def test_tasks_the_controller_finishes_itself_give_what_a_worker_gives(tmp_path) -> None:
    # set_fact, assert, debug, fail, include_vars, validate_argument_spec, the dynamic includes and
    # false conditions run in the controller's process under
    # mitogen_linear (no worker fork): every result, registered value, failure, rescue and count
    # must be what ansible-core's linear strategy gives, where a worker runs each task.
    (tmp_path / "play.yml").write_text(CONTROLLER_PLAYBOOK)
    for name, text in EXTRA_FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    runs = {}
    for strategy in ("linear", "mitogen_linear"):
        run = run_playbook(
            str(tmp_path / "play.yml"),
            "localhost,",
            env={**JSON_OUTPUT, "ANSIBLE_STRATEGY": strategy},
            args=("-c", "local", "-e", f"ansible_python_interpreter={sys.executable}"),
        )
        assert run.returncode == 0, run
        runs[strategy] = _results(run.output)
    (stock, stock_stats), (ours, our_stats) = runs["linear"], runs["mitogen_linear"]
    assert our_stats == stock_stats
    assert stock_stats["localhost"]["rescued"] == 1 and stock_stats["localhost"]["skipped"] == 2
    pids = {}
    for (name, stock_result), (our_name, our_result) in zip(stock, ours, strict=True):
        assert name == our_name
        if name.startswith(("A fact", "Another fact")) and "ansible_facts" in our_result:
            for key in ("first_pid", "second_pid"):
                if key in our_result["ansible_facts"]:
                    pids[key] = (stock_result["ansible_facts"].pop(key), our_result["ansible_facts"].pop(key))
        assert our_result == stock_result, name
    # Stock: each task templated in its own worker. Here: both in the controller's one process.
    assert pids["first_pid"][0] != pids["second_pid"][0]
    assert pids["first_pid"][1] == pids["second_pid"][1]
