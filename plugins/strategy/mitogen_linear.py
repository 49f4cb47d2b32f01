# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mitogen's linear strategy, loaded from the venv's ``mitogen`` package (requirements.txt).

ansible.cfg names this directory in ``strategy_plugins``, so a fresh clone needs no
site-packages path in its configuration. The project's default strategy (ansible.cfg); back to
stock for one run with ``ANSIBLE_STRATEGY=linear ansible-playbook ...`` (docs/benchmarks.md).

Host keys: with host-key checking on, mitogen puts ``-o "StrictHostKeyChecking yes"`` in front
of the operator's ``ssh_args``, and OpenSSH keeps the first value it reads for an option. So
ansible.cfg's ``StrictHostKeyChecking=accept-new`` never applied, and the first connection to a
new EC2 instance failed with "Host key verification failed". When the operator's ssh_args set
StrictHostKeyChecking themselves, mitogen's own default is left out and theirs applies, as
with Ansible's ssh connection plugin. Host-key checking off (``ignore``) is unchanged.

No warning on every run: ansible-core 2.19 prints a deprecation warning whenever it loads a
strategy plugin from outside ansible.builtin, and offers no per-plugin way to acknowledge it (only
``deprecation_warnings = False``, which would hide every other deprecation too). Loading this file
happens inside the first such plugin-loader call, just before the warning; the loader's display
then drops that one message on every later load too (each play loads the strategy again:
provision.yml has two plays), and passes every other deprecation through, so those still print. The
deprecation itself is recorded in docs/benchmarks.md (what mitogen saves, and what it risks).
"""

from __future__ import annotations

DOCUMENTATION = """
name: mitogen_linear
short_description: Ansible's linear strategy run over Mitogen
description:
  - >-
    The linear strategy with mitogen's connection and module runner. One persistent Python per
    connection runs the modules: no module zip, copy or interpreter start per task. Modules that
    import module_utils from outside ansible-core (the AWS collections', the project's) run in that
    interpreter too on the local connection (the AWS modules), where mitogen alone would fork a
    clean one per task: boto3 is imported once per run. On managed hosts mitogen's rule stands. A
    module whose module_utils shadow one of ansible-core's still forks, as do async tasks,
    mitogen's always-fork modules and tasks with mitogen_task_isolation=fork.
  - >-
    Templates are compiled once: the Python code Jinja makes of a template is kept in a private
    per-user cache directory (MENSETSU_CODE_CACHE, else XDG_CACHE_HOME or ~/.cache, then mensetsu;
    the subdirectory jinja; an empty MENSETSU_CODE_CACHE turns it off), so the task workers, each a
    fresh fork, and later runs load it instead of compiling the same template again. The module
    sources mitogen compiles to scan their imports (imports), and the text of its own modules with
    their comments stripped (minified), are kept the same way.
  - >-
    A play whose variables set aws_modules_warm_up to true (playbooks/preflight.yml) has the
    interpreter of its local connection started in the background when its first task is queued,
    with library/aws_interpreter_warm_up.py importing boto3 and reading the STS model there, while
    the controller runs the play's first tasks. That worker reports nothing.
  - >-
    Tasks the controller finishes itself run in its own process, without a worker fork:
    set_fact, assert, debug, fail, include_vars, validate_argument_spec, include_tasks and
    include_role, and tasks whose condition is false, through ansible-core's own
    task executor and result queue (loops, until, async, timeout and mitogen_task_isolation=fork
    excepted). A task with a condition whose action needs a worker goes to one once its condition
    holds.
  - >-
    With host-key checking on, a StrictHostKeyChecking option in ssh_args (ansible.cfg's
    accept-new) takes precedence over mitogen's own "StrictHostKeyChecking yes".
  - >-
    On Linux a task's worker ends with the run that started it (PR_SET_PDEATHSIG): a run killed
    with its process group (a cancelled job) leaves no worker waiting for ever on the multiplexer
    that died with it.
"""

# After DOCUMENTATION: ansible-doc and ansible-test read it without importing mitogen.
import ctypes
import functools
import hashlib
import marshal
import os
import signal
import stat
import sys
import tempfile
import types

import ansible.collections.list
import ansible.context
import ansible.executor.module_common
import ansible.plugins.loader
import ansible.release
import ansible_mitogen.loaders
import ansible_mitogen.module_finder
import ansible_mitogen.planner
import ansible_mitogen.strategy
import jinja2
import jinja2.utils
import mitogen
import mitogen.core
import mitogen.master
import mitogen.minify
import mitogen.ssh
from ansible._internal._task import TaskContext
from ansible._internal._templating import _jinja_bits, _jinja_common
from ansible._internal._templating._engine import TemplateEngine
from ansible.executor.process.worker import WorkerProcess
from ansible.executor.task_executor import TaskExecutor
from ansible.executor.task_result import _RawTaskResult
from ansible.playbook.task import Task
from ansible.utils.display import Display

_display = Display()

_ENFORCED = ["-o", "StrictHostKeyChecking yes"]
STRATEGY_DEPRECATION = "Use of strategy plugins not included in ansible.builtin are deprecated"


def _acknowledge_strategy_deprecation(display) -> None:
    """Drop ansible-core's deprecation of third-party strategy plugins on every load; pass every
    other deprecation to display.deprecated unchanged."""
    original = display.deprecated
    if getattr(original, "acknowledges_strategy_deprecation", False):
        return

    @functools.wraps(original)
    def deprecated(msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith(STRATEGY_DEPRECATION):
            return None
        return original(msg, *args, **kwargs)

    deprecated.acknowledges_strategy_deprecation = True
    display.deprecated = deprecated


_acknowledge_strategy_deprecation(ansible.plugins.loader.display)


def sets_strict_host_key_checking(ssh_args: list[str] | None) -> bool:
    """Whether the operator's ssh arguments choose a StrictHostKeyChecking policy themselves."""
    return any("stricthostkeychecking" in arg.lower() for arg in ssh_args or [])


def without_enforced_default(bits: list[str], ssh_args: list[str] | None) -> list[str]:
    """The ssh command line without mitogen's "StrictHostKeyChecking yes" when ssh_args choose instead."""
    if not sets_strict_host_key_checking(ssh_args):
        return bits
    for index in range(len(bits) - 1):
        if bits[index : index + 2] == _ENFORCED:
            return bits[:index] + bits[index + 2 :]
    return bits


_mitogen_boot_command = mitogen.ssh.Connection.get_boot_command


def _boot_command(self: mitogen.ssh.Connection) -> list[str]:
    bits = _mitogen_boot_command(self)
    if self.options.check_host_keys != "enforce":
        return bits
    return without_enforced_default(bits, self.options.ssh_args)


# Patched here, in the controller, before the strategy forks mitogen's connection multiplexer.
# setattr, not an assignment: ansible-doc reads every module-level assignment as a possible doc.
setattr(mitogen.ssh.Connection, "get_boot_command", _boot_command)  # noqa: B010

# Collection paths, listed once per run. Before each task that runs a collection's module, mitogen's
# planner lists every installed collection's directory again (ansible_mitogen/planner.py,
# `_load_collections`: list_collection_dirs walks the ~100 collections of the ansible package),
# about 0.1 CPU-second in the task's worker process, which is forked anew for every task and so
# never keeps what it found. The list is made in the controller before the first task's worker
# forks (StrategyModule.run), and every worker adds the same paths from it. The collections on
# disk do not change during a run.
_COLLECTION_DIRS: list[str] = []


def list_collection_dirs_once() -> list[str]:
    """The installed collections' directories, listed on the first call and kept."""
    if not _COLLECTION_DIRS:
        _COLLECTION_DIRS.extend(path.decode("utf-8") for path in ansible.collections.list.list_collection_dirs())
    return _COLLECTION_DIRS


def _load_collections(invocation) -> None:
    invocation._extra_sys_paths.update(list_collection_dirs_once())


setattr(ansible_mitogen.planner, "_load_collections", _load_collections)  # noqa: B010

# One interpreter for the modules, no fork per task. mitogen forks a fresh child of a clean
# interpreter for every new-style module that imports a module_util from outside ansible-core
# (ansible_mitogen/planner.py, NewStylePlanner.should_fork), because two such modules could bring
# two different files under one `ansible.module_utils.<name>` into one interpreter. That is every
# AWS module here (the collections' module_utils, the project's module_utils/), so each one imported
# boto3 and loaded botocore's models anew in its fork: about 0.4 CPU-second per AWS task, most of
# a no-op run's time (docs/benchmarks.md). The conflict cannot arise here: the collections' module_utils
# live under their own `ansible_collections.<namespace>.<name>` names, and the project's under
# `ansible.module_utils.<name>` from one directory, ./module_utils. A module that brings an
# `ansible.module_utils` name ansible-core itself has (a shadowing copy) still forks, as do mitogen's
# always-fork modules (dnf...), async tasks and `mitogen_task_isolation: fork`. Only on the local
# connection, where the AWS modules run: on a managed host mitogen's own rule stands.


def shadows_ansible_core(module_map: dict) -> bool:
    """Whether a module_util of the module's map takes an ansible.module_utils name that
    ansible-core's own module_utils directory holds too."""
    core = ansible.executor.module_common._MODULE_UTILS_PATH
    names = [entry[0] for entry in module_map.get("custom", [])]  # (fullname, path, is_pkg)
    for fullname in names:
        if not fullname.startswith("ansible.module_utils."):
            continue
        relative = os.path.join(core, *fullname.split(".")[2:])
        if os.path.exists(relative + ".py") or os.path.isdir(relative):
            return True
    return False


_mitogen_should_fork = ansible_mitogen.planner.NewStylePlanner.should_fork


def _should_fork(self) -> bool:
    if getattr(self._inv.connection, "transport", None) != "local":
        # A managed host (ssh): mitogen's own rule. Three hosts converged side by side were slower
        # without the fork (docs/benchmarks.md), and a host's modules gain little from a kept boto3.
        return _mitogen_should_fork(self)
    return (
        ansible_mitogen.planner.Planner.should_fork(self)  # async
        or self._inv.task_vars.get("mitogen_task_isolation") == "fork"
        or self._inv.module_name in self.ALWAYS_FORK_MODULES
        or shadows_ansible_core(self.get_module_map())
    )


setattr(ansible_mitogen.planner.NewStylePlanner, "should_fork", _should_fork)  # noqa: B010

# Templates compiled once, not once per task. ansible-core 2.19 keeps no compiled template: every
# time a task's worker templates a string (its arguments, the role defaults they reference, its
# conditions) Jinja parses it, generates Python source and compiles that, about 2 ms each, and the
# worker, forked anew for every task, keeps nothing for the next one. A no-op provision run compiled
# about 2,600 templates, most of them the same few hundred role defaults again and again
# (docs/benchmarks.md). The code object Jinja makes depends only on the template's source, its
# name and file name, and the environment's compile-time settings, all of which are in the key
# below; ansible-core then builds the template from the code for the current environment, as it
# does after a compile. So the code is kept, marshalled, in a directory only this user can write
# (files 0600): the next worker, and the next run, load it. A directory that another user owns or
# can write is not used (code is loaded from it); a file that does not load is compiled again and
# replaced. Template sources are what the playbooks, roles and inventories say, not the values
# they render to.
_TEMPLATE_CODE: dict[str, types.CodeType] = {}
_jinja_compile = jinja2.Environment.compile


@functools.cache
def code_cache_dir(kind: str) -> str | None:
    """The private directory of one kind of kept code ("jinja", "imports", "minified"), created
    0700; None when the cache is off or the directory is not safe to use. Looked up once per process
    and kind (the controller, before it forks the workers and the mitogen multiplexers)."""
    root = os.environ.get("MENSETSU_CODE_CACHE")
    if root == "":
        return None
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "mensetsu")
    directory = os.path.join(root, kind)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        info = os.stat(directory)
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return directory


def content_key(settings: tuple, data: bytes) -> str:
    """A SHA-256 of what decides a kept result: the settings' repr, then the content itself."""
    digest = hashlib.sha256(repr(settings).encode())
    digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()


def template_code_key(
    env: jinja2.Environment, source: str, name: str | None, filename: str | None, defer_init: bool
) -> str:
    """What decides the code Jinja compiles a template source to, hashed."""
    context = _jinja_bits._TemplateCompileContext.current(optional=True)
    settings = (
        sys.version,
        jinja2.__version__,
        ansible.release.__version__,
        f"{type(env).__module__}.{type(env).__qualname__}",
        f"{env.code_generator_class.__module__}.{env.code_generator_class.__qualname__}",
        tuple((field, getattr(env, field)) for field in _jinja_bits._TEMPLATE_OVERRIDE_FIELD_NAMES),
        context.escape_backslashes if context else None,
        env.optimized,
        env.autoescape if isinstance(env.autoescape, bool) else getattr(env.autoescape, "__qualname__", "callable"),
        env.is_async,
        getattr(env.finalize, "__qualname__", repr(env.finalize)),
        tuple(sorted(env.extensions)),
        _jinja_common._TemplateConfig.allow_embedded_templates,
        name,
        filename,
        defer_init,
    )
    return content_key(settings, _utf8(source))


def _code(data: bytes) -> types.CodeType | None:
    try:
        code = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def _store(directory: str, path: str, data: bytes) -> None:
    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")  # 0600
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError:
        pass  # a full or read-only disk: the result was made, only not kept


def kept(kind: str, key: str, memory: dict, make, dump=marshal.dumps, load=_code):
    """The result kept under `key` in this process, else on disk (read by `load`), else made by
    `make()` and kept in both (written by `dump`). An entry `load` refuses is made again and replaced.
    Code objects by default; text with dump=_utf8, load=_text."""
    result = memory.get(key)
    if result is not None:
        return result
    directory = code_cache_dir(kind)
    path = os.path.join(directory, key) if directory else None
    if path:
        try:
            with open(path, "rb") as handle:
                result = load(handle.read())
        except OSError:
            result = None
    if result is None:
        result = make()
        if path:
            _store(directory, path, dump(result))
    memory[key] = result
    return result


def _utf8(text: str) -> bytes:
    return str.encode(text, "utf-8", "surrogatepass")


def compile_template(self, source, name=None, filename=None, raw=False, defer_init=False):
    """jinja2.Environment.compile, with the code of a template source kept (see above)."""
    if raw or not isinstance(source, str) or getattr(self, "_debuggable_template_source", False):
        return _jinja_compile(self, source, name, filename, raw, defer_init)
    key = template_code_key(self, source, name, filename, defer_init)
    return kept("jinja", key, _TEMPLATE_CODE, lambda: _jinja_compile(self, source, name, filename, raw, defer_init))


jinja2.utils.internal_code.add(compile_template.__code__)  # left out of Jinja's rewritten tracebacks
setattr(_jinja_bits.AnsibleEnvironment, "compile", compile_template)  # noqa: B010

# Module sources compiled once for mitogen's import scans. Before a module runs, mitogen's
# multiplexer process lists the module_utils it needs (ansible_mitogen/module_finder.py, scan) and,
# to send them to the interpreter that runs it, the modules each of those imports in turn
# (mitogen/master.py, ModuleFinder.find_related_imports). Both compile every source they read just to
# read its import statements, and the multiplexer keeps only its per-module answers: each of the
# ~40 AWS modules of a provision run compiled ansible-core's basic.py and the same few dozen
# module_utils again, and each run started from nothing. About 2.8 CPU-seconds of a no-op's 4.4 in
# the multiplexer (py-spy, docs/benchmarks.md), on the run's critical path: the task waits for it.
# The code object depends only on the source, its file name, the mode and the Python: all in the
# key. It is kept, marshalled, in the private cache next to the templates' ("imports"), and in
# memory; the scans then read it exactly as they read a fresh compile. Compiled without
# inheriting this file's __future__ flags (no import statement depends on them).
# mitogen also strips the comments of its own modules before sending them to a new interpreter
# (mitogen.minify, about 1 CPU-second a run): the stripped text depends only on the text and the
# Python's tokenizer, and is kept the same way ("minified").
_IMPORT_SCAN_CODE: dict[str, types.CodeType] = {}
_MINIFIED: dict[str, str] = {}
_mitogen_minimize_source = mitogen.minify.minimize_source


def compile_for_imports(source, filename, mode, *args, **kwargs) -> types.CodeType:
    """compile() for mitogen's import scans, with the code of a source kept (see above)."""
    if args or kwargs:
        return compile(source, filename, mode, *args, **kwargs)
    data = source if isinstance(source, bytes) else _utf8(source)
    key = content_key((sys.version, type(source).__name__, str(filename), mode), data)
    return kept("imports", key, _IMPORT_SCAN_CODE, lambda: compile(source, filename, mode, dont_inherit=True))


def minimize_source(source) -> str:
    """mitogen.minify.minimize_source, with the stripped text of a source kept (see above)."""
    text = mitogen.core.to_text(source)
    key = content_key((sys.version, mitogen.__version__), _utf8(text))
    return kept("minified", key, _MINIFIED, lambda: _mitogen_minimize_source(text), dump=_utf8, load=_text)


# Module globals, so only these two modules' calls of compile() are served from the cache.
setattr(ansible_mitogen.module_finder, "compile", compile_for_imports)  # noqa: B010
setattr(mitogen.master, "compile", compile_for_imports)  # noqa: B010
setattr(mitogen.minify, "minimize_source", minimize_source)  # noqa: B010

Base = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


# The modules' interpreter warmed up while the controller works. The first AWS task of a run waited
# about 2 s: mitogen starting the Python that runs the AWS modules on the local connection (0.9 s),
# that Python importing boto3, botocore and the module_utils (0.6 s), and botocore reading the STS
# model for the identity read. Meanwhile the controller spent about 2 s on preflight's checks, which
# need no AWS call. A play whose variables set aws_modules_warm_up (playbooks/preflight.yml: every
# entry playbook that calls AWS) starts, when its first task is queued, one more worker beside it:
# it runs library/aws_interpreter_warm_up.py on the same host, connection and play settings as the
# play's tasks, so mitogen starts the same interpreter the later tasks use, and the module imports
# there and reads the STS model. That worker's result and output go nowhere: it changes nothing, and
# a task that needs the interpreter while the warm-up holds it waits for it, as it would have
# waited for the same work. Once per run. Reading every service's model up front as well was
# measured and dropped: about 3 CPU-seconds on the second core while preflight runs, no faster
# no-op, and pure waste in a run that preflight stops (docs/benchmarks.md).
WARM_UP_VARIABLE = "aws_modules_warm_up"
WARM_UP_MODULE = "aws_interpreter_warm_up"
_WARM_UP: list[object] = []  # the warm-up's worker, once started


class _Discard:
    """The warm-up worker's result queue: everything it would send (its result, display) is dropped."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def warm_up_wanted(task_vars: dict, connection: str | None, loader) -> bool:
    """Whether the play asks for the warm-up and its host runs its modules on the local connection
    (the host's ansible_connection, else the play's or the command line's)."""
    if _WARM_UP or (task_vars.get("ansible_connection") or connection) != "local":
        return False
    if WARM_UP_VARIABLE not in task_vars:
        return False
    try:
        return TemplateEngine(loader=loader, variables=task_vars).template(task_vars[WARM_UP_VARIABLE]) is True
    except Exception:  # pylint: disable=broad-exception-caught
        return False  # a variable that does not render: no warm-up, the play's own tasks report it


# Tasks the controller can finish itself, run without a worker. ansible-core forks a worker process
# for every task and host, also for tasks that never leave the controller: set_fact, assert, debug
# and fail (action plugins that run no module), and tasks whose condition is false (skipped before
# any connection; also include_vars, validate_argument_spec and the dynamic includes, below). The
# fork, the worker's start and its exit cost about 35 ms a task here, more than
# such a task's own work: 100 set_fact tasks took 4.6 s, 1.2 s in the controller's own process. A
# no-op provision run has about 80 of them (the roles' input checks and records, the skips).
# So the strategy runs ansible-core's own TaskExecutor for such a task in its own process, on a
# copy of the task (the executor post-validates it), and sends the result through the result queue
# as a worker would: registering, callbacks, failures and the recap are ansible-core's. Any other
# task still goes to a worker: a task with a condition is tried here, and if the condition holds
# and its action is not one of the four, the executor stops before it templates the task's
# arguments (post_validate, the step after the condition) and the task is queued to a worker as
# before; its condition is then evaluated twice, as templating without side effects. Never here:
# loops, until/retries, async, timeout, and hosts or tasks with mitogen_task_isolation: fork.
CONTROLLER_ACTIONS = frozenset(
    f"{prefix}{action}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for action in (
        "set_fact",
        "assert",
        "debug",
        "fail",
        # Also controller-only: reading vars files, checking a role's arguments, and the dynamic
        # includes, which the executor answers with the file or role to include (the strategy then
        # loads it, as it does for a worker's answer). With several hosts each was a fork per host.
        "include_vars",
        "validate_argument_spec",
        "include_tasks",
        "include_role",
    )
)


class _NeedsWorker(BaseException):
    """Raised where a task tried in the controller turns out to need a worker (BaseException: the
    task executor turns every Exception into a failed result)."""


def _needs_worker(*args, **kwargs):
    raise _NeedsWorker()


def controller_candidate(task: Task, task_vars: dict) -> bool:
    """Whether the controller may try the task itself (see above)."""
    if task.loop is not None or task.loop_with or task.until or task.async_val or task.timeout:
        return False
    if task_vars.get("mitogen_task_isolation") == "fork":
        return False
    return bool(task.when) or (task.resolved_action or task.action) in CONTROLLER_ACTIONS


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Base):
    """The linear strategy with mitogen's connection and module runner."""

    def run(self, iterator, play_context, result=0):
        list_collection_dirs_once()  # in the controller: the workers forked for the tasks inherit it
        return super().run(iterator, play_context, result)

    def _queue_task(self, host, task, task_vars, play_context):
        if warm_up_wanted(task_vars, play_context.connection, self._loader):
            self._start_warm_up(host, task, task_vars, play_context)
        if controller_candidate(task, task_vars) and self._run_in_controller(host, task, task_vars, play_context):
            return None
        return super()._queue_task(host, task, task_vars, play_context)

    def _run_in_controller(self, host, task, task_vars, play_context) -> bool:
        """Run the task in this process and queue its result; False when it needs a worker."""
        copy = task.copy(exclude_tasks=True)  # the parent blocks, not their every task
        if (task.resolved_action or task.action) not in CONTROLLER_ACTIONS:
            copy.post_validate = _needs_worker  # the step right after the condition
        executor = TaskExecutor(
            host,
            copy,
            task_vars.copy(),
            play_context,
            self._loader,
            ansible.plugins.loader.get_plugin_loader_namespace(),
            self._final_q,
            self._variable_manager,
        )
        try:
            with TaskContext(copy):
                result = executor.run()
        except _NeedsWorker:
            return False
        self._queued_task_cache[(host.name, task._uuid)] = {
            "host": host,
            "task": task,
            "task_vars": task_vars,
            "play_context": play_context,
        }
        self._tqm.send_callback("v2_runner_on_start", host, task)
        self._final_q.send_task_result(
            _RawTaskResult(host=host, task=copy, return_data=result, task_fields=copy.dump_attrs())
        )
        self._pending_results += 1
        return True

    def _start_warm_up(self, host, task, task_vars, play_context) -> None:
        try:
            warm_up = Task.load(
                {"name": "Warm up the AWS modules' interpreter", WARM_UP_MODULE: {}},
                block=task._parent,
                variable_manager=self._variable_manager,
                loader=self._loader,
            )
            worker = WorkerProcess(
                final_q=_Discard(),
                task_vars=task_vars,
                host=host,
                task=warm_up,
                play_context=play_context,
                loader=self._loader,
                variable_manager=self._variable_manager,
                shared_loader_obj=ansible.plugins.loader.get_plugin_loader_namespace(),
                worker_id=len(self._workers),
                cliargs=ansible.context.CLIARGS,
            )
            worker.start()
        except Exception as error:  # pylint: disable=broad-exception-caught
            _display.vvv(f"No warm-up of the AWS modules' interpreter: {error}")
            worker = None
        _WARM_UP.append(worker)


# Workers die with the run. ansible-core's WorkerProcess puts itself in a session of its own (setsid),
# so a signal to the run's process group (a cancelled CI or AWX job, an operator's kill) does not
# reach it: under stock Ansible it finishes its task and exits. Under mitogen the module runs in the
# multiplexer's children, which die with the group, and the worker then waits for their answer for
# ever (tests/test_interrupted_provision.py found one left per such interruption, each about 60 MB).
# On Linux the worker asks the kernel to kill it when the process that started it ends
# (PR_SET_PDEATHSIG), and ends at once if that process is already gone. Elsewhere nothing changes.
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):  # no prctl: not Linux
        return
    if os.getppid() != parent:  # the run ended between the fork and the prctl
        os._exit(1)


_worker_start = WorkerProcess.start
_worker_detach = WorkerProcess._detach


def _start_remembering_the_run(self: WorkerProcess) -> None:
    self._mensetsu_parent = os.getpid()
    _worker_start(self)


def _detach_dying_with_the_run(self: WorkerProcess) -> None:
    _worker_detach(self)
    _die_with_parent(getattr(self, "_mensetsu_parent", os.getppid()))


setattr(WorkerProcess, "start", _start_remembering_the_run)  # noqa: B010
setattr(WorkerProcess, "_detach", _detach_dying_with_the_run)  # noqa: B010
