"""library/aws_interpreter_warm_up.py: it sends no AWS request (normal run and check mode), and once it
has read a service's model, a later module's client of that service (a new session, as
AnsibleAWSModule.client makes) reads no botocore data file. The strategy side (started in the
background, in the interpreter the play's modules use) is in tests/test_strategy_plugin.py."""

from __future__ import annotations

import boto3

from tests.support import module
from tests.support.library_code import load_library_module

warm_up = load_library_module("aws_interpreter_warm_up")

REGION = "ap-northeast-1"


def test_sends_no_request_and_names_the_services_it_reads(aws) -> None:
    for check in (False, True):
        with aws.recording_requests() as requests:
            result = module.run_module("aws_interpreter_warm_up", {"services": ["sts", "ec2"]}, check=check)
        assert requests == []
        assert result["changed"] is False
        assert result["services"] == ["sts", "ec2"]
    assert module.run_module("aws_interpreter_warm_up", {})["services"] == warm_up.SERVICES


def test_a_later_client_of_a_warmed_service_reads_no_data_file(files_read: list[str]) -> None:
    read = files_read
    # An unknown name is passed over, not a failure: the task that needs it reads it itself.
    warm_up.read_models(boto3.session.Session(), ["sts", "no-such-service", "elbv2"], REGION)
    assert any("elbv2" in path for path in read), read
    read.clear()
    for service in ("sts", "elbv2"):
        boto3.session.Session().client(service, region_name=REGION, endpoint_url="http://127.0.0.1:9")
    assert read == [], "a client of a warmed service read botocore's data files again"
    boto3.session.Session().client("rds", region_name=REGION, endpoint_url="http://127.0.0.1:9")
    assert any("rds" in path for path in read), "the counter counts nothing"


def test_by_default_it_reads_the_model_of_the_run_s_first_call_only() -> None:
    # playbooks/tasks/aws_account.yml: STS GetCallerIdentity, every run's first AWS request.
    assert warm_up.SERVICES == ["sts"]
    assert set(warm_up.SERVICES) <= set(boto3.session.Session().get_available_services())
