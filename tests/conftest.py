"""Fixtures shared by every test: one moto server per test session (per xdist worker)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from tests.support.moto import REGION, MotoServer, start_moto
from tests.support.secrets_stack import SecretsStack
from tests.support.secrets_stack import secrets_stack as build_secrets_stack


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


@pytest.fixture(scope="session")
def secrets_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretsStack]:
    """inventories/local provisioned once with planted secrets, and the outputs of its runs
    (tests/support/secrets_stack.py): tests/test_secrets_output.py reads the outputs, then
    tests/test_teardown.py removes the stack. STACK_GROUPS keeps the two files on one worker."""
    with build_secrets_stack(tmp_path_factory.mktemp("moto-secrets")) as built:
        yield built


# Files whose tests share one stack (a session fixture above): under `--dist loadscope` each group
# is one scope, run by one worker, so the stack is built once (tests/conftest.py's scheduler below).
# A group's files run in collection (name) order, but none depends on it: what one file reads of the
# stack is taken when the stack is built, before another file changes it.
STACK_GROUPS: dict[str, str] = {
    "tests/test_secrets_output.py": "stack:secrets-then-teardown",
    "tests/test_teardown.py": "stack:secrets-then-teardown",
}

# Seconds of each long scope (a file, a group of STACK_GROUPS, a class for the corpus's shards) on
# this machine (docs/testing.md); refresh them from `pytest --durations`. Only the order
# matters: with `--no-loadscope-reorder` (scripts/test.sh) the scopes start longest first, so that
# one long file does not start last and bound the run (xdist's own order is by number of tests,
# which put the 9-minute end-to-end file in the middle). A scope not listed counts as short.
SCOPE_SECONDS: dict[str, float] = {
    # From the fresh-clone `make test` of main at ff5cbfe on the quiet machine (2026-12-06, three workers,
    # molecule and lint beside them, --durations=40: a file's setup and calls of 26 s or more added up;
    # test_publish_static from the run before, with --durations=80).
    "tests/test_e2e.py": 1000,  # boots the hosts, installs PostgreSQL, Redis, the app; drift and converges
    "tests/test_drift.py": 970,  # two site.yml runs, eleven drift runs (alone and through scripts/drift.sh)
    "tests/test_interrupted_provision.py": 560,  # six killed runs in a chain, then two whole runs
    "stack:secrets-then-teardown": 400,  # a -vvv provision, a drift run, the summary; five teardown runs
    "tests/test_later_runs.py": 340,  # six playbook runs on its own stack
    "tests/test_provision.py": 265,  # three site.yml runs
    "tests/test_naming.py": 255,  # a whole stack provisioned, drifted and torn down once
    "tests/test_data_and_storage.py": 220,  # three runs of five stages
    "tests/test_first_run.py": 200,
    "tests/test_provision_order.py": 195,
    "tests/test_bad_input.py::TestCorpusShard1": 155,  # half the corpus: ~90 short runs, 4 at a time
    "tests/test_publish_static.py": 150,
    "tests/test_bad_input.py::TestCorpusShard0": 135,
    "tests/test_admin_access.py": 90,
    "tests/test_monitoring.py": 60,
    # make test-fast's longest scopes after the corpus (tests/support/module.py made the module tests short):
    # `PYTEST_ADDOPTS=--durations=60 scripts/test.sh --fast` on 2026-12-06 13:22-13:35 UTC at load 8-18, where
    # the corpus's shards took 338 s and 316 s, about 2.2 times the quiet run's figures above; divided by that.
    "tests/test_cost.py": 52,  # its cost.yml runs
    "tests/test_preflight.py": 38,  # preflight.yml and site.yml --tags preflight
    "tests/modules/test_aws_unmanaged_resources_info.py": 29,  # four declared environments built in moto
}


def _scope(nodeid: str) -> str:
    """The loadscope unit: a group of STACK_GROUPS, else the file, or the class for a test in a class."""
    group = STACK_GROUPS.get(nodeid.split("::", 1)[0])
    return group or nodeid.rsplit("::", 1)[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """xdist's loadscope scheduling, with the scopes of `_scope` (STACK_GROUPS: several files, one scope)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class StackGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return StackGroupScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -SCOPE_SECONDS.get(_scope(item.nodeid), 0))  # stable: a file keeps its order


def pytest_report_header(config: pytest.Config) -> str:
    return f"root: {os.geteuid() == 0}"
