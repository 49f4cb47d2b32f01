"""No secret reaches any output: a -vvv provision run, the drift run and its report, the summary.

On a moto server of its own, the test plants known values where an operator's secrets live: the
three API keys in the environment (OPENAI_API_KEY, GOOGLE_CLOUD_CREDENTIALS, HEYGEN_API_KEY), an
SSH private key in a file the run is given (--private-key). provision.yml at -vvv (every module's
arguments and results printed) generates the database password and the Redis AUTH token; the
test reads them back from Secrets Manager. Then someone changes secrets by hand (an API key and
the database password, as a rotation would), so the drift run has secrets to compare; it runs at
-vvv too. No planted or generated value may appear in any output, report or summary.

playbooks/configure.yml is not covered here: it needs booted app hosts (it reads the secrets on the
host, tests/test_e2e.py and the fastapi_service molecule scenario run it).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.drift import DriftRun, run_drift
from tests.support.moto import MotoServer, start_moto
from tests.support.playbook import REPO, PlaybookRun, run_playbook

pytestmark = pytest.mark.stack  # converges a whole stack: not in make test-fast

INVENTORY = "inventories/local"
SECRETS_PREFIX = "mensetsu/local"


def planted(label: str) -> str:
    return f"{label}-{secrets.token_hex(12)}"


@dataclass
class Outputs:
    values: dict[str, str]  # what must never be printed, by where it comes from
    provision: PlaybookRun
    drift: DriftRun
    summary: str


def ssh_private_key(directory: Path) -> tuple[Path, str, list[str]]:
    """A new ed25519 key pair: the private key's path, the public key, the private key's body lines."""
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "planted", "-f", str(key)], check=True)
    body = [line for line in key.read_text().splitlines() if line and not line.startswith("-----")]
    return key, (directory / "id_ed25519.pub").read_text().strip(), body


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outputs]:
    workdir = tmp_path_factory.mktemp("moto-secrets")
    server: MotoServer = start_moto(workdir=workdir)
    try:
        key, public_key, key_body = ssh_private_key(workdir)
        values = {
            "OPENAI_API_KEY": planted("sk-openai"),
            "HEYGEN_API_KEY": planted("heygen"),
            "GOOGLE_CLOUD_CREDENTIALS private_key": planted("google-private-key"),
        }
        google = {"type": "service_account", "private_key": values["GOOGLE_CLOUD_CREDENTIALS private_key"]}
        values |= {f"SSH private key line {number}": line for number, line in enumerate(key_body, start=1)}
        env = {
            **server.env,
            "OPENAI_API_KEY": values["OPENAI_API_KEY"],
            "HEYGEN_API_KEY": values["HEYGEN_API_KEY"],
            "GOOGLE_CLOUD_CREDENTIALS": json.dumps(google),
            "ADMIN_SSH_PUBLIC_KEY": public_key,
        }
        provision = run_playbook(
            "playbooks/provision.yml", INVENTORY, env=env, args=("-vvv", "--private-key", str(key))
        )
        assert provision.returncode == 0, str(provision)

        manager = server.client("secretsmanager")

        def stored(name: str) -> dict:
            return json.loads(manager.get_secret_value(SecretId=f"{SECRETS_PREFIX}/{name}")["SecretString"])

        values["generated DB password"] = stored("db")["password"]
        values["generated Redis AUTH token"] = stored("redis")["auth_token"]

        # By hand, outside the playbooks: a new OpenAI key and a rotated database password.
        values["OpenAI key set by hand"] = planted("sk-by-hand")
        manager.put_secret_value(
            SecretId=f"{SECRETS_PREFIX}/openai-api-key", SecretString=values["OpenAI key set by hand"]
        )
        values["DB password rotated by hand"] = planted("rotated")
        manager.put_secret_value(
            SecretId=f"{SECRETS_PREFIX}/db",
            SecretString=json.dumps(stored("db") | {"password": values["DB password rotated by hand"]}),
        )

        drift = run_drift(env, workdir, args=("-vvv", "--private-key", str(key)))
        assert drift.returncode in (0, 2), str(drift)

        summary = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "summary.py"), "-i", INVENTORY],
            cwd=REPO,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert summary.returncode == 0, summary.stdout + summary.stderr
        yield Outputs(values, provision, drift, summary.stdout + summary.stderr)
    finally:
        server.stop()


def leaks(text: str, values: dict[str, str]) -> list[str]:
    return [name for name, value in values.items() if value in text]


def test_the_planted_values_are_really_used(outputs: Outputs):
    """Else the test below would prove nothing: the run stored the keys the environment gave it."""
    assert len(outputs.values["generated DB password"]) == 32
    assert len(outputs.values["generated Redis AUTH token"]) == 48
    assert "ESTABLISH LOCAL CONNECTION" in outputs.provision.output, "not a -vvv run"
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
