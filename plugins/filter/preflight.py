"""Which roles playbooks/preflight.yml validates for this run's tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def preflight_roles_to_validate(entries: Iterable, run_tags: Iterable[str], skip_tags: Iterable[str]) -> list[str]:
    """The roles among `entries` that this run reaches.

    An entry is a role's name (validated on every run, whatever the tags: an AWS stage) or
    {name, tags} (validated only when one of its tags runs and none is skipped, as Ansible
    decides for the play or task that carries those tags: e.g. the static build is not asked for
    by `site.yml --skip-tags static`).
    """
    run, skip = set(run_tags), set(skip_tags)
    chosen: list[str] = []
    for entry in entries:
        if isinstance(entry, Mapping):
            tags = set(entry.get("tags", []))
            if tags & skip or not ("all" in run or tags & run):
                continue
            name = entry["name"]
        else:
            name = str(entry)
        if name not in chosen:
            chosen.append(name)
    return chosen


class FilterModule:
    def filters(self) -> dict:
        return {"preflight_roles_to_validate": preflight_roles_to_validate}
