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


@pytest.fixture
def files_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The botocore data files read from now on, with the process's shared data
    (module_utils/botocore_data.py) emptied first."""
    import botocore.loaders

    from tests.support.library_code import load_library_module

    load_library_module("ec2_vpc_network")  # puts the repository's module_utils on ansible.module_utils
    from ansible.module_utils import botocore_data

    read: list[str] = []
    real = botocore.loaders.JSONFileLoader.load_file

    def counted(self, file_path, *args, **kwargs):
        read.append(str(file_path))
        return real(self, file_path, *args, **kwargs)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", counted)
    monkeypatch.setattr(botocore_data, "_DATA", {})
    return read
