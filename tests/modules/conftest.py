"""The module tests' playbook runs use Ansible's own linear strategy, not ansible.cfg's mitogen_linear.

Most steps of a module test run the module in a fork of the test process (tests/support/module.py's
run_module); the few that go through ansible-playbook (play_module, a test's own playbook) are one
task on localhost: mitogen's set-up (its interpreter and import
machinery) costs more than it saves there. tests/modules/test_cloudfront_origin_access_control.py,
2026-12-06, the two runs side by side on the loaded machine: 15.7 CPU-seconds and 159 s with
linear, 19.3 CPU-seconds and 242 s with mitogen_linear. The module, its arguments, check mode and
the callbacks are the same under either strategy; the stack tests (site.yml, provision.yml) keep
ansible.cfg's strategy, and the bad-input corpus runs linear too (docs/testing.md).
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def linear_strategy(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/support/playbook.py's runs take this process's environment."""
    monkeypatch.setenv("ANSIBLE_STRATEGY", "linear")
