"""A default run prints no warning (issue 17 item 6): the repository's ansible.cfg, its mitogen
strategy and its pinned packages included, adds no [WARNING], [DEPRECATION WARNING] or Python
warning to a run, while a deprecation that a playbook itself causes still prints (nothing is
hidden globally)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.playbook import plays, run_playbook
from tests.support.playbook import warning_lines as warnings

PLAY = """\
- name: A run that does nothing
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say so
      ansible.builtin.debug:
        msg: nothing to do
"""


@pytest.fixture(autouse=True)
def default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's ansible.cfg as it is: no ANSIBLE_* override from the caller's shell."""
    for key in ("ANSIBLE_CONFIG", "ANSIBLE_STRATEGY", "ANSIBLE_DEPRECATION_WARNINGS", "ANSIBLE_ACTION_WARNINGS"):
        monkeypatch.delenv(key, raising=False)


def test_a_default_run_prints_no_warning(tmp_path: Path) -> None:
    playbook = tmp_path / "noop.yml"
    playbook.write_text(PLAY)
    run = run_playbook(str(playbook), "localhost,")
    assert run.returncode == 0, run
    assert "nothing to do" in run.output, run
    assert warnings(run.output) == [], run


def test_a_run_of_several_plays_prints_no_warning(tmp_path: Path) -> None:
    """Each play loads the strategy again (provision.yml: preflight, then the platform): the
    mitogen strategy's deprecation is dropped on every load, not only the first."""
    playbook = tmp_path / "two_plays.yml"
    playbook.write_text(PLAY + "\n" + PLAY.replace("A run that does nothing", "A second play"))
    run = run_playbook(str(playbook), "localhost,")
    assert run.returncode == 0, run
    assert plays(run.output) == ["A run that does nothing", "A second play"], run
    assert warnings(run.output) == [], run


def test_a_deprecation_the_playbook_causes_still_prints(tmp_path: Path) -> None:
    playbook = tmp_path / "deprecated.yml"
    playbook.write_text(PLAY + "      args:\n")  # an empty `args:`: deprecated in ansible-core 2.19
    run = run_playbook(str(playbook), "localhost,")
    assert run.returncode == 0, run
    assert any("Ignoring empty task `args` keyword" in line for line in warnings(run.output)), run
