"""Mitogen's linear strategy, loaded from the venv's ``mitogen`` package (requirements.txt).

ansible.cfg names this directory in ``strategy_plugins``, so a fresh clone needs no
site-packages path in its configuration. The project's default strategy (ansible.cfg); back to
stock for one run with ``ANSIBLE_STRATEGY=linear ansible-playbook ...`` (docs/benchmarks.md).
"""

from __future__ import annotations

import ansible_mitogen.loaders
import ansible_mitogen.strategy

DOCUMENTATION = """
name: mitogen_linear
short_description: Ansible's linear strategy run over Mitogen
description:
  - The linear strategy with mitogen's connection and module runner. One persistent Python per
    connection runs the modules: no module zip, copy or interpreter start per task. Modules that
    import module_utils from outside ansible-core (the AWS collections', the project's) run in a
    fork of a clean interpreter, so they still import boto3 each time.
"""

Base = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Base):
    """The linear strategy with mitogen's connection and module runner."""
