"""A moto server on a free loopback port, with its request recorder, for tests and benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from .requests import AwsRequest, parse_recording

REPO = Path(__file__).resolve().parents[2]
REGION = "ap-northeast-1"
START_LIMIT = 120  # seconds


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections for the duration of the block: bound (so no other
    process, a moto server of another test for one, can take it) but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    """A running moto server; `env` is what a boto3 client or ansible-playbook needs to reach it."""

    endpoint: str
    recording: Path
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    def _post(self, path: str) -> bytes:
        request = urllib.request.Request(self.endpoint + path, data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.endpoint + path, timeout=30) as response:
            return response.read()

    def client(self, service: str, region: str = REGION):
        """A boto3 client for this emulator, with moto's dummy credentials."""
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def other_account_client(self, service: str, account: str, region: str = REGION):
        """A client of this emulator acting as another AWS account (moto tells accounts apart by the
        x-moto-account-id header): a bucket it creates is that account's, as a name another account
        holds on AWS."""
        client = self.client(service, region)
        client.meta.events.register(
            f"before-sign.{service}", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
        )
        return client

    def reset(self) -> None:
        """Forget every resource (a fresh, empty account)."""
        self._post("/moto-api/reset")

    def start_recording(self) -> None:
        self._post("/moto-api/recorder/reset-recording")
        self._post("/moto-api/recorder/start-recording")

    def stop_recording(self) -> list[AwsRequest]:
        self._post("/moto-api/recorder/stop-recording")
        return parse_recording(self._get("/moto-api/recorder/download-recording").decode())

    @contextlib.contextmanager
    def recording_requests(self) -> Iterator[list[AwsRequest]]:
        """Record every AWS request made inside the block into the yielded list."""
        requests: list[AwsRequest] = []
        self.start_recording()
        try:
            yield requests
        finally:
            requests.extend(self.stop_recording())

    def data(self) -> dict:
        """Every resource the emulator holds (slow on a full stack: seconds)."""
        return json.loads(self._get("/moto-api/data.json"))

    def answers(self) -> bool:
        try:
            self._get("/moto-api/config")
            return True
        except OSError:
            return False

    def control(self, path: str, body: dict | None = None) -> object:
        """Change the emulator as AWS would (start_moto(controlled=True); tests/support/moto_control.py)."""
        if body is None:
            return json.loads(self._get(f"/_emulator/{path}"))
        request = urllib.request.Request(
            f"{self.endpoint}/_emulator/{path}", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def client_env(endpoint: str, region: str = REGION) -> dict[str, str]:
    """Environment variables that point boto3 (and so every Ansible AWS module) at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's fixed dummy credentials
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


def start_moto(port: int | None = None, workdir: Path | None = None, controlled: bool = False) -> MotoServer:
    """Start `moto_server` on loopback and wait until it answers; `controlled`: with the routes of
    tests/support/moto_control.py, through which a test changes what AWS would change by itself.

    A free port is only free until someone binds it: another test run may take it between
    free_port() and moto's bind. The server counts as started once ITS log says it listens (not
    when something answers on the port, which may be another run's server); a lost race (moto
    exits: address in use) is retried on another port."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="moto-"))
    for attempt in range(1 if port else 5):
        server = _start_moto(port or free_port(), workdir, controlled, attempt)
        if server is not None:
            return server
    raise RuntimeError(f"moto_server could not bind a port; see {workdir}/moto*.log")


def _start_moto(port: int, workdir: Path, controlled: bool, attempt: int) -> MotoServer | None:
    recording = workdir / "recording.jsonl"
    log_path = workdir / ("moto.log" if attempt == 0 else f"moto-{attempt}.log")
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the server
    env = {
        **os.environ,
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        "MOTO_ACM_VALIDATION_WAIT": "1",
        "MOTO_RECORDER_FILEPATH": str(recording),
    }
    env.pop("MOTO_ENABLE_RECORDING", None)
    # moto's server as AWS answers where they differ (tests/support/moto_aws.py), or that and the
    # routes through which a test changes what AWS would change by itself.
    module = "tests.support.moto_control" if controlled else "tests.support.moto_aws"
    process = subprocess.Popen(
        [sys.executable, "-m", module, "-H", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    server = MotoServer(endpoint=endpoint, recording=recording, process=process, env=client_env(endpoint))
    listening = f"Running on {endpoint}".encode()
    # moto answers within about 2 s on an idle machine; the bound only turns a server that never
    # comes up into a failure, so it is generous for a loaded one (five test runs on two cores).
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if b"Address already in use" in log_path.read_bytes():
                return None
            raise RuntimeError(f"moto_server exited with {process.returncode}; see {log_path}")
        if listening in log_path.read_bytes() and server.answers():
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"moto_server did not answer within {START_LIMIT} s")
