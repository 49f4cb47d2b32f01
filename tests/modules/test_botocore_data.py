"""module_utils/botocore_data.py: once the project's module_utils are imported, every boto3 session of
the process, the collections' modules' session-per-client included, reads botocore's data files
once; a loader that would read something else (other search paths) never gets another's data, and
sessions made from many threads at once get complete models."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import boto3
import botocore.exceptions
import botocore.loaders
import pytest

from tests.support.library_code import load_library_module

load_library_module("ec2_vpc_network")  # puts the repository's module_utils on ansible.module_utils
from ansible.module_utils import aws_module, botocore_data

REGION = "ap-northeast-1"
ENDPOINT = "http://127.0.0.1:9"  # never contacted: building a client sends no request


def fresh_client(service: str):
    """What AnsibleAWSModule.client does for every client: a new session, then its client."""
    return boto3.session.Session().client(service, region_name=REGION, endpoint_url=ENDPOINT)


def test_importing_the_project_s_module_utils_installs_the_cache_once() -> None:
    assert aws_module.share_botocore_data is botocore_data.share_botocore_data
    for name in botocore_data.CACHED_METHODS:
        assert getattr(botocore.loaders.Loader, name).shared_by_mensetsu, name
    wrapped = botocore.loaders.Loader.load_service_model
    botocore_data.share_botocore_data()
    assert botocore.loaders.Loader.load_service_model is wrapped, "installed twice: a wrapper around the wrapper"


def test_a_new_session_s_client_reads_no_data_file_an_earlier_session_read(files_read: list[str]) -> None:
    first = fresh_client("elbv2")
    assert any("elbv2" in path for path in files_read), files_read
    files_read.clear()
    second = fresh_client("elbv2")
    assert files_read == [], "a new session read botocore's data files again"
    assert second.meta.service_model.operation_names == first.meta.service_model.operation_names
    # Each session keeps its own loader: boto3 appends its data directory to it, once.
    sessions = [boto3.session.Session() for _ in range(3)]
    loaders = {id(session._loader) for session in sessions}
    assert len(loaders) == 3
    for session in sessions:
        paths = session._loader.search_paths
        assert len(paths) == len(set(paths)), paths


def test_a_loader_with_other_search_paths_reads_its_own_data(tmp_path: Path, files_read: list[str]) -> None:
    # AWS_DATA_PATH puts a directory first: its model wins over botocore's, for that loader only.
    default = botocore.loaders.create_loader()
    real = default.load_service_model("sts", "service-2")
    model = json.loads(json.dumps(real))
    model["metadata"]["serviceFullName"] = "STS from AWS_DATA_PATH"
    version = model["metadata"]["apiVersion"]
    (tmp_path / "sts" / version).mkdir(parents=True)
    (tmp_path / "sts" / version / "service-2.json").write_text(json.dumps(model))
    (tmp_path / "mensetsutest" / "2020-01-01").mkdir(parents=True)  # a model only the custom loader finds
    (tmp_path / "mensetsutest" / "2020-01-01" / "service-2.json").write_text(json.dumps(model))

    custom = botocore.loaders.create_loader(str(tmp_path))
    assert custom.load_service_model("sts", "service-2")["metadata"]["serviceFullName"] == "STS from AWS_DATA_PATH"
    assert botocore.loaders.create_loader().load_service_model("sts", "service-2") is real
    assert real["metadata"]["serviceFullName"] != "STS from AWS_DATA_PATH"

    # A model only one loader can find: the others still fail, before and after it was read.
    with pytest.raises(botocore.exceptions.DataNotFoundError):
        default.load_service_model("mensetsutest", "service-2")
    assert custom.load_service_model("mensetsutest", "service-2")["metadata"]["apiVersion"] == version
    with pytest.raises(botocore.exceptions.DataNotFoundError):
        botocore.loaders.create_loader().load_service_model("mensetsutest", "service-2")


def test_sessions_made_in_many_threads_at_once_get_complete_models(files_read: list[str]) -> None:
    services = ("s3", "ec2", "elbv2", "rds", "route53", "sts")
    expected = {}
    for service in services:
        loader = botocore.loaders.create_loader()
        uncached = botocore.loaders.Loader.load_service_model.__wrapped__(loader, service, "service-2")
        expected[service] = sorted(uncached["operations"])
    errors: list[str] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        start.wait()
        for turn in range(12):
            service = services[(worker + turn) % len(services)]
            try:
                names = sorted(fresh_client(service).meta.service_model.operation_names)
            except Exception as exc:
                errors.append(f"{service}: {exc!r}")
                continue
            if names != expected[service]:
                errors.append(f"{service}: {len(names)} operations, not {len(expected[service])}")

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Each model was read from disk at most once per thread that raced for it, never per client.
    models_read = [path for path in files_read if path.endswith("service-2")]
    assert len(models_read) <= len(services) * 8, models_read
