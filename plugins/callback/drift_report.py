# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a read-only drift run (playbooks/drift.yml) into a JSON and a Markdown report."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: drift_report
type: aggregate
short_description: Write the drift report of playbooks/drift.yml
description:
  - Collects every C(changed) result of a read-only drift run (check mode and diff forced on the
    plays) as drift items (resource, attribute, declared, actual) and writes
    C(reports/drift-<env>-<UTC timestamp>.json) and C(.md) when the run ends.
  - A result of a task with C(no_log) becomes an item that says the resource differs, without
    any value; its values never reach the report.
  - A failed or unreachable host, or a run that ends before its recap, makes the report's
    C(status) V(failed), so a failed run never reads as "no drift".
  - Enabled by scripts/drift.sh (C(ANSIBLE_CALLBACKS_ENABLED)); other playbooks never load it.
requirements:
  - enable in configuration (scripts/drift.sh does)
options:
  report_dir:
    description: Where the reports are written.
    default: reports
    type: path
    env:
      - name: DRIFT_REPORT_DIR
  environment:
    description: The environment's name in the report's file name; defaults to the inventory's directory name.
    type: str
    env:
      - name: DRIFT_ENV
"""

import datetime
import difflib
import json
import os
from pathlib import Path
from typing import Any

from ansible.playbook.handler import Handler
from ansible.plugins.callback import CallbackBase

HIDDEN = "(hidden: no_log)"
NO_DIFF = "(the module reports a change but not which attribute)"
NO_LOG_VALUE = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
MAX_TEXT = 4000
# Check-mode answers that say nothing about the actual state: (module, msg) -> why it is ignored.
# amazon.aws.ec2_key can compare key material only by importing it, so its check mode reports
# every existing key as "updated"; a missing key ("key pair created") is still reported.
UNTRUSTED_CHECK_MODE = {
    ("amazon.aws.ec2_key", "key pair updated"): "ec2_key cannot compare key material without writing",
}  # longest text value kept in a report (file contents are cut after it)


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """{"dotted.path": leaf} of a nested dict; lists are leaves (compared as a whole)."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, child in value.items():
            flat.update(flatten(child, f"{path}.{key}" if path else str(key)))
        return flat
    return {path: value}


def canonical(value: Any) -> Any:
    """A value with list order removed and numbers unified ("22" == 22), for comparison."""
    if isinstance(value, dict):
        return {key: canonical(child) for key, child in sorted(value.items(), key=lambda pair: str(pair[0]))}
    if isinstance(value, list):
        members = (canonical(item) for item in value)
        return sorted(members, key=lambda item: json.dumps(item, sort_keys=True, default=str))
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"... ({len(value) - MAX_TEXT} more characters)"
    return value


def security_group_rules(permissions: Any) -> list[str] | None:
    """ip_permissions as one readable line per rule ("tcp 22 from 0.0.0.0/0"), or None."""
    if not isinstance(permissions, list) or not all(isinstance(item, dict) for item in permissions):
        return None
    rules = set()
    for permission in permissions:
        protocol = str(permission.get("ip_protocol", ""))
        low, high = permission.get("from_port"), permission.get("to_port")
        ports = "all" if protocol == "-1" else str(low) if str(low) == str(high) else f"{low}-{high}"
        sources = [item.get("cidr_ip") for item in permission.get("ip_ranges", [])]
        sources += [item.get("cidr_ipv6") for item in permission.get("ipv6_ranges", [])]
        sources += [item.get("prefix_list_id") for item in permission.get("prefix_list_ids", [])]
        sources += [
            item.get("group_id") or item.get("group_name") for item in permission.get("user_id_group_pairs", [])
        ]
        rules |= {f"{'all' if protocol == '-1' else protocol} {ports} from {source}" for source in sources}
    return sorted(rules)


def list_item(attribute: str, declared: list, actual: list) -> dict[str, Any]:
    """A list attribute: the whole lists, and which members are missing or extra."""
    if attribute.rsplit(".", 1)[-1] in ("ip_permissions", "ip_permissions_egress"):
        declared = security_group_rules(declared) or declared
        actual = security_group_rules(actual) or actual
    have = [canonical(member) for member in actual]
    want = [canonical(member) for member in declared]
    return {
        "attribute": attribute,
        "declared": declared,
        "actual": actual,
        "missing": [member for member in want if member not in have],
        "extra": [member for member in have if member not in want],
    }


def diff_items(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """The attributes one Ansible diff (before = actual, after = declared) says differ.

    An attribute that only the actual side has is not declared (the module shows what the API
    returned): it is not drift, unless the whole declared side is empty (a resource to delete).
    """
    before, after = diff.get("before"), diff.get("after")
    if isinstance(before, str) or isinstance(after, str):
        return text_items(diff)
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [] if before == after else [{"attribute": "", "declared": after, "actual": before}]
    flat_before, flat_after = flatten(before), flatten(after)
    attributes = set(flat_after) if flat_after and after else set(flat_before)
    items = []
    for attribute in sorted(attributes):
        actual, declared = flat_before.get(attribute), flat_after.get(attribute)
        if canonical(actual) == canonical(declared):
            continue
        if isinstance(actual, list) and isinstance(declared, list):
            items.append(list_item(attribute, declared, actual))
        else:
            items.append({"attribute": attribute, "declared": declared, "actual": actual})
    return items


def text_items(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """A file's diff: the lines only the declared content has against those only the actual one
    has, numbered ("14: NoNewPrivileges=yes"), under the file's path (the diff's before_header;
    a template's after_header is a temporary path on the controller)."""
    before, after = diff.get("before") or "", diff.get("after") or ""
    if before == after:
        return []
    header = diff.get("before_header") or diff.get("after_header") or "content"
    actual_lines, declared_lines = str(before).splitlines(), str(after).splitlines()
    declared, actual = [], []
    matcher = difflib.SequenceMatcher(a=actual_lines, b=declared_lines, autojunk=False)
    for tag, a_low, a_high, b_low, b_high in matcher.get_opcodes():
        if tag != "equal":
            actual += [f"{number + 1}: {line}" for number, line in enumerate(actual_lines[a_low:a_high], a_low)]
            declared += [f"{number + 1}: {line}" for number, line in enumerate(declared_lines[b_low:b_high], b_low)]
    return [
        {
            "attribute": f"content of {header}",
            "declared": _clip("\n".join(declared)) if declared else "(no line)" if after else "(absent)",
            "actual": _clip("\n".join(actual)) if actual else "(no line)" if before else "(absent)",
        }
    ]


# systemd's ActiveState for each declared `state` of ansible.builtin.systemd_service / systemd / service.
SERVICE_STATES = {"started": "active", "restarted": "active", "reloaded": "active", "stopped": "inactive"}
SERVICE_ACTIONS = {
    "ansible.builtin.systemd_service",
    "ansible.builtin.systemd",
    "ansible.builtin.service",
    "ansible.legacy.systemd_service",
    "ansible.legacy.systemd",
    "ansible.legacy.service",
}


def service_items(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A systemd unit's declared state and enablement against what systemd answered (the module
    reports `changed` in check mode without a diff, but returns the unit's properties)."""
    arguments = (result.get("invocation") or {}).get("module_args") or {}
    status = result.get("status") if isinstance(result.get("status"), dict) else {}
    unit = arguments.get("name") or result.get("name") or "unit"
    items = []
    declared_state = SERVICE_STATES.get(str(arguments.get("state")))
    if declared_state and status.get("ActiveState") and status["ActiveState"] != declared_state:
        items.append({"attribute": f"{unit} state", "declared": declared_state, "actual": status["ActiveState"]})
    if arguments.get("enabled") is not None and status.get("UnitFileState"):
        declared_enabled = "enabled" if arguments["enabled"] else "disabled"
        actual_enabled = status["UnitFileState"]
        if actual_enabled != declared_enabled:
            items.append({"attribute": f"{unit} enabled", "declared": declared_enabled, "actual": actual_enabled})
    return items


def argument_items(result: dict[str, Any]) -> list[dict[str, Any]]:
    """For a module that says `changed` without a diff: the arguments it was given that differ
    from the same-named values it returned (itself, or its first instance)."""
    arguments = flatten((result.get("invocation") or {}).get("module_args") or {})
    sources = [result]
    for key in ("instances", "instance"):
        found = result.get(key)
        if isinstance(found, list) and found and isinstance(found[0], dict):
            sources.append(found[0])
        elif isinstance(found, dict):
            sources.append(found)
    actual_values: dict[str, Any] = {}
    for source in sources:
        for path, value in flatten({k: v for k, v in source.items() if k != "invocation"}).items():
            actual_values.setdefault(path, value)
    items = []
    for path, declared in sorted(arguments.items()):
        if path not in actual_values or not comparable(declared, actual_values[path]):
            continue
        actual = actual_values[path]
        if canonical(declared) != canonical(actual) and str(declared) != str(actual):
            items.append({"attribute": path, "declared": declared, "actual": actual})
    return items


def comparable(declared: Any, actual: Any) -> bool:
    """Whether an argument and a returned value of the same name can be compared: scalars of one
    kind, or non-empty lists of scalars (not ids against objects, not an unset argument)."""
    if declared is None or declared == NO_LOG_VALUE or declared in ([], {}, ""):
        return False
    if isinstance(declared, list):
        members = [*declared, *(actual if isinstance(actual, list) else [None])]
        return isinstance(actual, list) and not any(isinstance(member, dict | list) for member in members)
    if isinstance(declared, bool) or isinstance(actual, bool):
        return isinstance(declared, bool) and isinstance(actual, bool)
    return isinstance(declared, str | int | float) and isinstance(actual, str | int | float)


def result_items(result: dict[str, Any], action: str = "") -> list[dict[str, Any]]:
    """The drift items of one (non-loop or item) result that reports `changed`."""
    if result.get("censored") or result.get("_ansible_no_log"):
        return [{"attribute": "", "declared": HIDDEN, "actual": HIDDEN, "secret": True}]
    if isinstance(result.get("differences"), list) and result["differences"]:
        return [dict(item) for item in result["differences"]]
    if action in SERVICE_ACTIONS and (items := service_items(result)):
        return items
    diffs = result.get("diff")
    diffs = diffs if isinstance(diffs, list) else [diffs] if isinstance(diffs, dict) else []
    items = [item for diff in diffs for item in diff_items(diff)] or argument_items(result)
    return items or [{"attribute": "", "declared": NO_DIFF, "actual": NO_DIFF}]


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Drift report: {report['environment']}", ""]
    lines.append(f"- Run: {report['started']} to {report['finished']} (UTC), status **{report['status']}**")
    if report["status"] == "failed":
        lines.append("- The run itself failed: this report does NOT say there is no drift. Failures:")
        lines += [f"  - `{item['host']}` {item['task']}: {item['message']}" for item in report["failures"]]
    elif report["items"]:
        lines.append(f"- {len(report['items'])} differences; a converge fixes them: `{report['fix_command']}`")
    else:
        lines.append("- No drift: the platform matches its declaration.")
    if report["items"]:
        lines += ["", "| Resource | Attribute | Declared | Actual |", "|---|---|---|---|"]
        for item in report["items"]:
            cells = [item["resource"], item["attribute"] or "-", _cell(item["declared"]), _cell(item["actual"])]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Machine-readable: `{report['json']}`", ""]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = text.replace("|", "\\|").replace("\n", "\\n")
    return f"`{text[:200]}{'...' if len(text) > 200 else ''}`"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "drift_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.started = datetime.datetime.now(datetime.UTC)
        self.items: list[dict[str, Any]] = []
        self.failures: list[dict[str, str]] = []
        self.inventory_name = ""

    def v2_playbook_on_play_start(self, play: Any) -> None:
        if self.inventory_name:
            return
        inventory = play.get_variable_manager()._inventory
        sources = [source for source in (inventory._sources if inventory else []) if source]
        if sources:
            self.inventory_name = Path(sources[0].rstrip("/")).name

    @property
    def environment(self) -> str:
        return self.get_option("environment") or self.inventory_name or "unknown"

    def _record(self, result: Any, item_result: dict[str, Any], index: int | None) -> None:
        task = result._task
        if isinstance(task, Handler):
            return  # a consequence of a difference already reported (a restart after a file's change)
        action = getattr(task, "resolved_action", None) or task.action
        if (action, item_result.get("msg")) in UNTRUSTED_CHECK_MODE:
            return
        label = item_result.get("_ansible_item_label")
        if label is None and index is not None:
            label = f"item {index + 1}"
        resource = item_result.get("resource") if isinstance(item_result.get("resource"), str) else None
        name = task.get_name().strip()
        for item in result_items(item_result, action):
            entry = {
                "resource": resource or (f"{name} [{label}]" if label is not None else name),
                "task": name,
                "host": result._host.get_name(),
                **item,
            }
            if entry.get("secret"):
                entry["note"] = "a secret or a no_log setting differs; its values are never reported"
            self.items.append(entry)

    def v2_runner_on_ok(self, result: Any) -> None:
        data = result._result
        if isinstance(data.get("results"), list):
            for index, item_result in enumerate(data["results"]):
                if isinstance(item_result, dict) and item_result.get("changed"):
                    self._record(result, item_result, index)
        elif data.get("changed"):
            self._record(result, data, None)

    def _failure(self, result: Any, kind: str) -> None:
        data = result._result
        message = HIDDEN if data.get("censored") else str(data.get("msg") or data.get("message") or kind)
        self.failures.append({"host": result._host.get_name(), "task": result._task.get_name(), "message": message})

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        if not ignore_errors:
            self._failure(result, "failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._failure(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        failed = any(stats.failures.get(host) or stats.dark.get(host) for host in stats.processed)
        if failed and not self.failures:
            self.failures.append({"host": "", "task": "", "message": "a host failed or was unreachable"})
        self.write_report("failed" if self.failures else "drift" if self.items else "clean")

    def write_report(self, status: str) -> None:
        finished = datetime.datetime.now(datetime.UTC)
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        directory = Path(self.get_option("report_dir"))
        directory.mkdir(parents=True, exist_ok=True)
        base = directory / f"drift-{self.environment}-{stamp}"
        report = {
            "environment": self.environment,
            "status": status,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "drift_count": len(self.items),
            "fix_command": f"ansible-playbook site.yml -i inventories/{self.environment}",
            "items": self.items,
            "failures": self.failures,
            "json": str(base.with_suffix(".json")),
            "markdown": str(base.with_suffix(".md")),
        }
        base.with_suffix(".json").write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
        base.with_suffix(".md").write_text(markdown(report))
        latest = os.environ.get("DRIFT_REPORT_POINTER")
        if latest:
            Path(latest).write_text(str(base.with_suffix(".json")) + "\n")
        self._display.display(f"Drift report ({status}, {len(self.items)} differences): {base}.json and .md")
