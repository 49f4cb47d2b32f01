"""No secret reaches any output: a -vvv provision run, the drift run and its report, the summary.

On a moto server of its own, known values are planted where an operator's secrets live: the three
API keys in the environment (OPENAI_API_KEY, GOOGLE_CLOUD_CREDENTIALS, HEYGEN_API_KEY), an SSH
private key in a file the run is given (--private-key). provision.yml at -vvv (every module's
arguments and results printed) generates the database password and the Redis AUTH token; they are
read back from Secrets Manager. Then someone changes secrets by hand (an API key and the database
password, as a rotation would), so the drift run has secrets to compare; it runs at -vvv too. No
planted or generated value may appear in any output, report or summary. tests/support/secrets_stack.py
builds that stack and keeps the outputs; tests/test_teardown.py then removes the same stack
(tests/conftest.py, STACK_GROUPS: one provisioning for both files).

playbooks/configure.yml is not covered here: it needs booted app hosts (it reads the secrets on the
host, tests/test_e2e.py and the fastapi_service molecule scenario run it).
"""

from __future__ import annotations

import json

import pytest

from tests.support.secrets_stack import Outputs, SecretsStack

pytestmark = pytest.mark.stack  # converges a whole stack: not in make test-fast


@pytest.fixture(scope="module")
def outputs(secrets_stack: SecretsStack) -> Outputs:
    """The stack is tests/conftest.py's `secrets_stack` (tests/support/secrets_stack.py builds it),
    shared with tests/test_teardown.py, which removes it after these tests read its outputs."""
    return secrets_stack.outputs


def leaks(text: str, values: dict[str, str]) -> list[str]:
    return [name for name, value in values.items() if value in text]


def test_the_planted_values_are_really_used(outputs: Outputs):
    """Else the test below would prove nothing: the run stored the keys the environment gave it."""
    assert len(outputs.values["generated DB password"]) == 32
    assert len(outputs.values["generated Redis AUTH token"]) == 48
    # What ansible-core prints at -vvv only (not at -vv): how it parsed each inventory source.
    assert "inventory source with yaml plugin" in outputs.provision.output, "not a -vvv run"
    assert "Invoked with" in outputs.provision.output or "invocation" in outputs.provision.output


def test_no_secret_in_the_verbose_provision_run(outputs: Outputs):
    assert leaks(outputs.provision.output, outputs.values) == []


def test_no_secret_in_the_drift_run_or_its_report(outputs: Outputs):
    assert leaks(outputs.drift.output, outputs.values) == []
    assert leaks(json.dumps(outputs.drift.report), outputs.values) == []
    assert leaks(outputs.drift.markdown, outputs.values) == []


def test_no_secret_in_the_summary(outputs: Outputs):
    assert "Secrets Manager" in outputs.summary
    assert leaks(outputs.summary, outputs.values) == []
