"""Validate the inputs of several roles in one task: each role's argument spec and its rules.

playbooks/preflight.yml checks every role an entry playbook uses before the run's first write; a
role's own tasks/main.yml checks itself when no preflight of this run did. Through include_role
that took, per role, ansible-core's "Validating arguments against arg spec" task and then each
of the role's rule tasks (about 35 tasks for provision.yml's roles); this action does the same
work for any number of roles in one task.

For each role, in the role's context (the role's defaults below the task's variables, its
vars/main.yml internals beside them: what include_role gives the role's tasks):

1. the options of the role's argument spec for `entry_point` (meta/argument_specs.yml), when the
   role declares that entry point, through ansible-core's ArgumentSpecValidator, as ansible-core's
   own role validation does (validate_argument_spec);
2. then, when the spec passed, the role's rules: tasks/<entry_point>.yml, a list of
   ansible.builtin.assert tasks with optional `vars`, `loop`, `loop_control` and `when`, evaluated
   as Ansible runs them (the loop templated first, then `when` and each `that` per item, the first
   failing task ending that role's rules). Anything else in the file is an error, never skipped.

Every role is checked; the task fails once, naming every failing role with its messages.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

ASSERT_ACTIONS = ("ansible.builtin.assert", "assert", "ansible.legacy.assert")
TASK_KEYS = {"name", "vars", "loop", "loop_control", "when", *ASSERT_ACTIONS}
ASSERT_KEYS = {"that", "fail_msg", "msg", "quiet", "success_msg"}


class RoleInputError(Exception):
    """A role's inputs failed a check: the messages say which variable and why."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self.validate_argument_spec(
            argument_spec={
                "roles": {"type": "list", "elements": "str", "required": True},
                "entry_point": {"type": "str", "default": "validate"},
            }
        )[1]
        failures: dict[str, list[str]] = {}
        for role in args["roles"]:
            try:
                self._check_role(role, args["entry_point"], task_vars)
            except RoleInputError as error:
                failures[role] = error.messages
        result["changed"] = False
        if failures:
            result["failed"] = True
            lines = [f"{role}: {message}" for role, messages in failures.items() for message in messages]
            result["msg"] = "\n".join(lines)
        else:
            result["msg"] = f"valid ({args['entry_point']}): {', '.join(args['roles'])}"
        return result

    def _role_path(self, role: str) -> str:
        own = getattr(self._task, "_role", None)
        if own is not None and own.get_name(include_role_fqcn=False) == role:
            return own._role_path
        for base in [os.path.join(self._loader.get_basedir(), "roles"), *C.DEFAULT_ROLES_PATH]:
            path = os.path.join(base, role)
            if os.path.isdir(path):
                return path
        raise AnsibleError(f"validate_role_inputs: the role {role!r} was not found in {C.DEFAULT_ROLES_PATH}")

    def _load(self, path: str, default: Any) -> Any:
        # A role's own files, trusted as templates as Ansible trusts them when it loads the role.
        if not os.path.exists(path):
            return default
        # unsafe: the data as loaded, without the loader's deep copy; nothing here changes it.
        data = self._loader.load_from_file(path, unsafe=True, trusted_as_template=True)
        return default if data is None else data

    def _check_role(self, role: str, entry_point: str, task_vars: dict[str, Any]) -> None:
        path = self._role_path(role)
        specs = self._load(os.path.join(path, "meta", "argument_specs.yml"), {}).get("argument_specs") or {}
        rules_file = os.path.join(path, "tasks", f"{entry_point}.yml")
        if entry_point not in specs and not os.path.exists(rules_file):
            raise AnsibleError(f"validate_role_inputs: {role} has neither an argument spec nor tasks/{entry_point}.yml")
        # The role's context: defaults < the task's variables; the role's own vars/main.yml holds
        # only `__<role>_` internals (tests/test_validate_role_inputs.py), which nothing else sets.
        context = {
            **self._load(os.path.join(path, "defaults", "main.yml"), {}),
            **self._load(os.path.join(path, "vars", "main.yml"), {}),
            **task_vars,
            "role_name": role,
            "role_path": path,
        }
        if entry_point in specs:
            self._check_spec(specs[entry_point].get("options") or {}, context)
        for task in self._load(rules_file, []):
            self._check_rule(role, task, context)

    def _check_spec(self, options: dict[str, Any], context: dict[str, Any]) -> None:
        templar = self._templar.copy_with_new_env(available_variables=context)
        given = {name: context[name] for name in options if name in context}
        try:
            # One pass, as ansible-core's validate_argument_spec templates them (a value that
            # several options read is rendered once).
            values = templar.template(given)
        except AnsibleError:
            # Which option's value cannot be rendered, each by name.
            errors = []
            for name, value in given.items():
                try:
                    templar.template(value)
                except AnsibleError as error:
                    errors.append(f"{name}: {error.message}")
            raise RoleInputError(errors) from None
        checked = ArgumentSpecValidator(options).validate(values, validate_role_argument_spec=True)
        if checked.error_messages:
            # An option the spec marks no_log never reaches the output, whatever its error says.
            messages = remove_values(checked.error_messages, checked._no_log_values)
            raise RoleInputError([f"Validation of arguments failed: {message}" for message in messages])

    def _check_rule(self, role: str, task: Mapping[str, Any], context: dict[str, Any]) -> None:
        where = f"roles/{role} task {task.get('name', '(unnamed)')!r}"
        check = self._assert_args(task)
        if check is None:
            raise AnsibleError(
                f"validate_role_inputs: {where} must be one ansible.builtin.assert (that, fail_msg, quiet) with "
                f"optional vars, loop, loop_control and when; it has {sorted(task)}"
            )
        that = check["that"] if isinstance(check["that"], list) else [check["that"]]
        fail_msg = check.get("fail_msg", check.get("msg", "Assertion failed"))
        loop_var = (task.get("loop_control") or {}).get("loop_var", "item")
        scope = {**context, **(task.get("vars") or {})}
        messages: list[str] = []
        try:
            for local in self._items(task, scope, loop_var):
                templar = self._templar.copy_with_new_env(available_variables=local)
                if not all(templar.evaluate_conditional(when) for when in self._when(task)):
                    continue
                if not all(templar.evaluate_conditional(condition) for condition in that):
                    messages.append(str(templar.template(fail_msg)))
        except AnsibleError as error:
            messages.append(f"{where}: {error.message}")
        if messages:
            raise RoleInputError(messages)

    def _items(self, task: Mapping[str, Any], scope: dict[str, Any], loop_var: str) -> Iterator[dict[str, Any]]:
        """The variables of each run of the task: one run, or one per loop item (the loop templated
        first, as the task executor does, before `when`)."""
        if "loop" not in task:
            yield scope
            return
        items = self._templar.copy_with_new_env(available_variables=scope).template(task["loop"])
        if not isinstance(items, list):
            raise AnsibleError(f"loop must be a list, got {type(items).__name__}")
        for item in items:
            yield {**scope, loop_var: item}

    @staticmethod
    def _assert_args(task: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The assert's arguments, or None when the task is anything else."""
        actions = [key for key in task if key in ASSERT_ACTIONS]
        if set(task) - TASK_KEYS or len(actions) != 1:
            return None
        check = task[actions[0]]
        if not isinstance(check, Mapping) or "that" not in check or set(check) - ASSERT_KEYS:
            return None
        return check

    @staticmethod
    def _when(task: Mapping[str, Any]) -> list[Any]:
        when = task.get("when", [])
        return when if isinstance(when, list) else [when]
