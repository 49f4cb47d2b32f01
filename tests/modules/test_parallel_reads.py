"""module_utils/parallel_reads.py: a module's independent reads run side by side, and a module whose
reads fail fails once, with the first failure in the order the reads were given. The modules that
use it are checked behind the latency proxy: their reads are in flight together."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support import module as runner
from tests.support.in_flight import InFlight
from tests.support.library_code import load_library_module

load_library_module("ec2_subnet_zones")  # puts the repository's module_utils on ansible.module_utils
from ansible.module_utils.parallel_reads import arn_to_be, aws_read, early_read, read_in_parallel
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from latency_proxy import LatencyProxy


class Failed(Exception):
    pass


class Module:
    """What read_in_parallel uses of AnsibleAWSModule: fail_json and fail_json_aws (which calls it)."""

    def __init__(self) -> None:
        self.failures: list[dict[str, Any]] = []

    def fail_json(self, **kwargs: Any) -> None:
        self.failures.append(kwargs)
        raise Failed(kwargs["msg"])

    def fail_json_aws(self, error: Exception, msg: str) -> None:
        self.fail_json(msg=f"{msg}: {error}")


def test_independent_reads_wait_for_the_slowest_not_for_their_sum() -> None:
    round_trip = InFlight(0.3)

    def read(value: str):
        def run() -> str:
            round_trip()
            return value

        return run

    started = time.monotonic()
    found = read_in_parallel(Module(), {name: read(name) for name in ("zones", "offerings", "subnets")})
    assert found == {"zones": "zones", "offerings": "offerings", "subnets": "subnets"}
    assert round_trip.most == 3
    assert time.monotonic() - started < 0.6


def test_failing_reads_fail_the_module_once_with_the_first_failure_in_order() -> None:
    module = Module()
    error = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeSubnets")

    def denied() -> None:
        time.sleep(0.1)  # ends after the second read's failure: order, not timing, decides
        raise error

    def also_denied() -> None:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "DescribeVpcs")

    reads = {
        "subnets": aws_read(module, "the subnets", denied),
        "vpcs": aws_read(module, "the VPCs", also_denied),
        "zones": lambda: ["ap-northeast-1a"],
    }
    with pytest.raises(Failed, match="Failed to read the subnets"):
        read_in_parallel(module, reads)
    assert len(module.failures) == 1, module.failures
    assert "fail_json" not in vars(module), "the module's own fail_json was not put back"
    with pytest.raises(Failed, match="after"):
        module.fail_json(msg="after")


def test_a_single_read_runs_in_the_caller_s_thread() -> None:
    caller = threading.get_ident()
    assert read_in_parallel(Module(), {"only": threading.get_ident}) == {"only": caller}


def test_the_subnet_zones_module_sends_its_three_reads_together(aws, boto) -> None:
    boto("ec2").create_vpc(CidrBlock="10.30.0.0/16")
    vpc_id = boto("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    args = {
        "vpc_id": vpc_id,
        "subnet_groups": [["10.30.0.0/24", "10.30.10.0/24"], ["10.30.1.0/24", "10.30.11.0/24"]],
        "instance_types": ["t3.micro"],
    }
    # 300 ms a request: reads sent together overlap even when a loaded machine starts a thread late.
    with LatencyProxy(aws.endpoint, delay_ms=300) as proxy:
        result = runner.run_module("ec2_subnet_zones", args, env={"AWS_ENDPOINT_URL": proxy.endpoint})
        counts = proxy.counts()
    assert len(result["zones"]) == 2, result
    assert counts.requests == 3, counts.table()
    assert counts.max_in_flight == 3, counts.table()


def test_an_early_read_that_fails_is_only_not_read() -> None:
    """early_read: an AWS error returns `missed` (the caller asks again where the answer matters);
    any other error is a bug and propagates."""
    refused = ClientError({"Error": {"Code": "SomeUndocumentedCode", "Message": "no"}}, "ListTagsForResource")

    def refuse() -> None:
        raise refused

    def broken() -> None:
        raise KeyError("TagList")

    assert early_read(lambda: {"Project": "mensetsu"})() == {"Project": "mensetsu"}
    assert early_read(refuse)() is None
    marker = object()
    assert early_read(refuse, missed=marker)() is marker
    with pytest.raises(KeyError):
        early_read(broken)()


def test_the_arn_to_be_is_the_client_s_partition_and_region() -> None:
    client = boto3.client("rds", region_name="cn-north-1", aws_access_key_id="x", aws_secret_access_key="x")
    assert arn_to_be(client, "rds", "123456789012", "pg:mensetsu-db") == (
        "arn:aws-cn:rds:cn-north-1:123456789012:pg:mensetsu-db"
    )
