"""Fixtures shared by every test: one moto server per test session (per xdist worker)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from tests.support.moto import REGION, MotoServer, start_moto


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = start_moto(workdir=tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """An empty emulated account; boto3 in this process and child processes point at it."""
    moto_server.reset()
    for key, value in moto_server.env.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_URL"):
        monkeypatch.delenv(key, raising=False)
    return moto_server


@pytest.fixture
def boto(aws: MotoServer):
    """A boto3 client factory for the emulator: boto("ec2"), boto("cloudfront", "us-east-1")."""

    def make(service: str, region: str = REGION):
        return boto3.client(service, region_name=region, endpoint_url=aws.endpoint)

    return make


# Seconds of each long scope (a file; a class for the corpus's shards) on this machine, from the
# figures in the comments (docs/testing.md); refresh them from `pytest --durations`. Only the order
# matters: with `--no-loadscope-reorder` (scripts/test.sh) the scopes start longest first, so that
# one long file does not start last and bound the run (xdist's own order is by number of tests,
# which put the 9-minute end-to-end file in the middle). A scope not listed counts as short.
SCOPE_SECONDS: dict[str, float] = {
    "tests/test_e2e.py": 540,  # about 9 min alone (boots the hosts, installs PostgreSQL, Redis, the app)
    "tests/test_later_runs.py": 330,  # estimate: six playbook runs on its own stack; 11-12 min at load 20
    "tests/test_drift.py": 270,  # 4-5 min alone
    "tests/test_bad_input.py::TestCorpusShard0": 180,  # half the corpus: ~90 short runs, 4 at a time
    "tests/test_bad_input.py::TestCorpusShard1": 180,
    "tests/test_naming.py": 240,  # estimate: a whole stack provisioned, drifted and torn down once
    "tests/test_interrupted_provision.py": 200,  # estimate: six killed runs in a chain, then two whole runs
    "tests/test_data_and_storage.py": 150,  # three runs of five stages, about 50 s each
}


def _scope(nodeid: str) -> str:
    """xdist's loadscope unit: the file, or the class for a test in a class."""
    return nodeid.rsplit("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -SCOPE_SECONDS.get(_scope(item.nodeid), 0))  # stable: a file keeps its order


def pytest_report_header(config: pytest.Config) -> str:
    return f"root: {os.geteuid() == 0}"
