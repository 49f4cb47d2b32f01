"""A module's warning, given once, without ansible-core's deprecation of ``warnings=``.

amazon.aws 10.1.2's ``AnsibleAWSModule.warn`` records every warning and, on ansible-core 2.19 and
later, passes the list to ``exit_json``/``fail_json`` as ``warnings=``; ansible-core 2.19 then adds
"[DEPRECATION WARNING]: Passing `warnings` to `exit_json` or `fail_json` is deprecated" to the same
task. The project's modules warn on the ``AnsibleModule`` that ``AnsibleAWSModule`` wraps (where its
own ``warn`` forwards the warning too), which puts the warning in the result once and nothing else.
"""

from __future__ import annotations

from typing import Any


def warn(module: Any, message: str) -> None:
    """Give ``message`` as the task's warning (instead of ``AnsibleAWSModule.warn``: see above)."""
    getattr(module, "_module", module).warn(message)
