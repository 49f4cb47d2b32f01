"""The benchmark's latency proxy (bench/latency_proxy.py): it delays every AWS request, counts
requests, requests in flight and connections, and names each request's operation for a
query-protocol, a JSON-protocol, a Smithy RPC v2 CBOR and a REST-protocol call made by boto3."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter

import boto3
import pytest

from tests.support.moto import REGION, MotoServer

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "bench"))
from latency_proxy import LatencyProxy


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def proxy(aws: MotoServer):
    with LatencyProxy(aws.endpoint, delay_ms=100) as running:
        yield running


def test_counts_names_and_delays_every_call(proxy: LatencyProxy) -> None:
    sts, secrets, s3, cloudwatch = (
        client(proxy.endpoint, name) for name in ("sts", "secretsmanager", "s3", "cloudwatch")
    )
    started = time.monotonic()
    assert sts.get_caller_identity()["Account"]  # query protocol (Action= form field)
    secrets.create_secret(Name="bench-secret", SecretString="x")  # JSON protocol (X-Amz-Target)
    secrets.describe_secret(SecretId="bench-secret")
    cloudwatch.describe_alarms()  # Smithy RPC v2 CBOR (/service/.../operation/DescribeAlarms)
    s3.create_bucket(Bucket="bench-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="bench-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.get_bucket_versioning(Bucket="bench-bucket")
    s3.put_object(Bucket="bench-bucket", Key="dir/a.txt", Body=b"a")
    s3.copy_object(Bucket="bench-bucket", Key="dir/b.txt", CopySource={"Bucket": "bench-bucket", "Key": "dir/a.txt"})
    s3.head_object(Bucket="bench-bucket", Key="dir/b.txt")
    assert s3.get_object(Bucket="bench-bucket", Key="dir/b.txt")["Body"].read() == b"a"
    s3.list_objects_v2(Bucket="bench-bucket", Prefix="dir/")
    elapsed = time.monotonic() - started

    counts = proxy.counts()
    assert counts.operations == Counter(
        {
            "sts:GetCallerIdentity": 1,
            "secretsmanager:CreateSecret": 1,
            "secretsmanager:DescribeSecret": 1,
            "monitoring:DescribeAlarms": 1,
            "s3:CreateBucket": 1,
            "s3:PutBucketVersioning": 1,
            "s3:GetBucketVersioning": 1,
            "s3:PutObject": 1,
            "s3:CopyObject": 1,
            "s3:HeadObject": 1,
            "s3:GetObject": 1,
            "s3:ListObjectsV2": 1,
        }
    )
    assert counts.requests == 12
    # One after another: never two at once; each of the four clients kept its one connection alive.
    assert counts.max_in_flight == 1
    assert counts.connections == 4
    # The delay is a lower bound on the time the calls took (100 ms each, one after another).
    assert elapsed >= 12 * 0.1


def test_never_counts_serial_calls_on_two_connections_as_two_in_flight(aws: MotoServer) -> None:
    # A client that reads an answer and at once sends its next call on another connection (another
    # service's client) must not find the answered call still counted: the proxy used to take a
    # call off the count only after it had written the answer, and a CI run saw 2 in flight for
    # calls made one after another. Many alternations with no delay make that race show.
    with LatencyProxy(aws.endpoint, delay_ms=0) as proxy:
        sts, iam = client(proxy.endpoint, "sts"), client(proxy.endpoint, "iam")
        for _ in range(150):
            sts.get_caller_identity()
            iam.list_roles()
        counts = proxy.counts()
    assert counts.requests == 300
    assert counts.connections == 2
    assert counts.max_in_flight == 1


def test_counts_requests_in_flight_at_once(proxy: LatencyProxy) -> None:
    proxy.delay_ms = 1000
    clients = [client(proxy.endpoint, "sts") for _ in range(3)]
    threads = [threading.Thread(target=sts.get_caller_identity) for sts in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = proxy.counts()
    assert counts.requests == 3
    assert counts.connections == 3
    assert counts.max_in_flight >= 2  # three calls started together, each held for a second
    assert counts.operations == Counter({"sts:GetCallerIdentity": 3})


def test_adds_no_delay_of_its_own(aws: MotoServer) -> None:
    # The proxy writes a response's headers and its body apart: with Nagle's algorithm on, the body
    # waited for the client's delayed ACK (40 ms on Linux) on every request, which inflated every
    # figure of the benchmark by 5 s per no-op run. Bound: well under that stall per call, measured
    # against the same calls sent to moto directly, so a loaded machine slows both sides.
    calls = 25

    def seconds_for_calls(endpoint: str) -> float:
        sts = client(endpoint, "sts")
        sts.get_caller_identity()  # the connection opened before the clock starts
        started = time.monotonic()
        for _ in range(calls):
            sts.get_caller_identity()
        return time.monotonic() - started

    direct_s = seconds_for_calls(aws.endpoint)
    with LatencyProxy(aws.endpoint, delay_ms=0) as running:
        proxied_s = seconds_for_calls(running.endpoint)
        assert running.counts().connections == 1
    assert proxied_s - direct_s < calls * 0.02, (proxied_s, direct_s)
