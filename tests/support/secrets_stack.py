"""The local stack with planted secrets: built once, read by two files (tests/conftest.py, STACK_GROUPS).

On a moto server of its own, known values are planted where an operator's secrets live: the three
API keys in the environment (OPENAI_API_KEY, GOOGLE_CLOUD_CREDENTIALS, HEYGEN_API_KEY), an SSH
private key in a file the run is given (--private-key). provision.yml at -vvv (every module's
arguments and results printed) generates the database password and the Redis AUTH token, read back
from Secrets Manager. Then someone changes secrets by hand (an API key and the database password, as
a rotation would), so the drift run (scripts/drift.sh, at -vvv too) has secrets to compare, and
scripts/summary.py summarises the platform. Every output is kept: tests/test_secrets_output.py
greps them for the secrets. Then tests/test_teardown.py removes the same stack (what it does
before, a database protected and object versions in the buckets, it adds itself): one provisioning
of inventories/local serves both files.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .drift import DriftRun, run_drift
from .moto import MotoServer, start_moto
from .playbook import REPO, PlaybookRun, run_playbook

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


@dataclass
class SecretsStack:
    server: MotoServer
    outputs: Outputs


def ssh_private_key(directory: Path) -> tuple[Path, str, list[str]]:
    """A new ed25519 key pair: the private key's path, the public key, the private key's body lines."""
    key = directory / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "planted", "-f", str(key)], check=True)
    body = [line for line in key.read_text().splitlines() if line and not line.startswith("-----")]
    return key, (directory / "id_ed25519.pub").read_text().strip(), body


@contextmanager
def secrets_stack(workdir: Path) -> Iterator[SecretsStack]:
    """Build the stack and its outputs (module docstring); the moto server stops when the block ends."""
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
        # With the ALB's regional web ACL too (waf_alb_enabled), which tests/test_teardown.py
        # removes after the ALB.
        provision = run_playbook(
            "playbooks/provision.yml",
            INVENTORY,
            env=env,
            extra_vars={"waf_alb_enabled": True},
            args=("-vvv", "--private-key", str(key)),
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
        yield SecretsStack(server, Outputs(values, provision, drift, summary.stdout + summary.stderr))
    finally:
        server.stop()
