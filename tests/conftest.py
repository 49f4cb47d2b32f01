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


def pytest_report_header(config: pytest.Config) -> str:
    return f"root: {os.geteuid() == 0}"
