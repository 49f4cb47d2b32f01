"""The long creations of playbooks/provision.yml start before the run waits for any of them.

On a moto server of its own, CloudFront's deployment is held back (moto's state manager) and
aws_edge_wait is on. The playbook runs in a thread while the test reads moto's request log as it
grows; it releases the deployment only once every long creation (RDS, ElastiCache, both ACM
certificates, CloudFront) and the app tier (key pair, instances) have reached the emulator. A run
that waited for CloudFront before going on would never launch the app hosts (the test then fails
after HOLD_LIMIT seconds, a bound no run comes near: about 30 s idle).

Every assertion is about causal order, never wall-clock time: the order in which the run starts
its tasks (its output), what reached moto before the test released the deployment, and what the
run could only do after the deployment finished (the DNS records). The creations return once AWS
accepted them and the waits come last (library/aws_long_creations_wait); the test asserts the
order, not how the run achieves it (until 2026-12-06 the creations were background jobs). A
re-run changes nothing and writes nothing. moto makes RDS and ElastiCache available at once, so
their waits are not held here.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.moto import MotoServer, start_moto
from tests.support.playbook import PlaybookRun, run_playbook, task_result, task_start
from tests.support.requests import AwsRequest, read_new_requests, writes

pytestmark = pytest.mark.stack  # converges a whole stack: not in make test-fast

PLAYBOOK = "playbooks/provision.yml"
EXTRA_VARS = {"aws_edge_wait": True}
HOLD_LIMIT = 1500  # a guard only, below run_playbook's own timeout (1800 s): about 30 s idle
CREATE_DISTRIBUTION = "POST /2020-05-31/distribution$"
POLL_DISTRIBUTION = "GET /2020-05-31/distribution/[^/]+$"
WRITE_RECORDS = "POST /2013-04-01/hostedzone/[^/]+/rrset"
CREATE_TASK = "aws_edge : Create the CloudFront distribution of the React build"
WAIT_TASK = "aws_edge : Wait until the distribution is deployed"
# Sent before the test lets CloudFront's deployment finish: call and how many times.
BEFORE_RELEASE = {
    "CreateDBInstance": 1,
    "CreateReplicationGroup": 1,
    "RequestCertificate": 2,
    CREATE_DISTRIBUTION: 1,
    "ImportKeyPair": 1,
    "RunInstances": 1,
}
# The order in which the run starts these tasks (its output): every long creation, then the
# app tier, then the waits, then what needs the waits' results.
TASK_ORDER = [
    "aws_data : Create the PostgreSQL instance, encrypted and private",
    "aws_data : Create the Redis replication group with TLS, encryption at rest and AUTH",
    "aws_certificates : Request the certificates with DNS validation",
    "aws_edge : Create the CloudFront distribution of the React build",
    "aws_compute : Launch the app hosts (Amazon Linux 2023, encrypted gp3, IMDSv2 only)",
    "aws_data : Wait until the database and the cache are available",
    WAIT_TASK,
    "aws_dns : Point the apex and www at CloudFront and api at the ALB",
]


def set_transition(server: MotoServer, transition: dict) -> None:
    body = {"model_name": "cloudfront::distribution", "transition": transition}
    request = urllib.request.Request(
        server.endpoint + "/moto-api/state-manager/set-transition", data=json.dumps(body).encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=30).close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = start_moto(workdir=tmp_path_factory.mktemp("moto-order"))
    yield server
    server.stop()


def count(requests: list[AwsRequest], call: str) -> int:
    return sum(request.is_call(call) for request in requests)


@dataclass
class OrderedRun:
    run: PlaybookRun
    requests: list[AwsRequest]
    released_at: int | None  # how many requests had reached moto when the deployment was released

    def positions(self, call: str) -> list[int]:
        found = [index for index, request in enumerate(self.requests) if request.is_call(call)]
        assert found, f"no {call} in the request log: {[str(r) for r in self.requests]}"
        return found


@pytest.fixture(scope="module")
def first(server: MotoServer) -> OrderedRun:
    set_transition(server, {"progression": "manual", "times": 10**6})  # InProgress until released
    result: list[PlaybookRun] = []
    seen: list[AwsRequest] = []
    offset = 0
    released_at = None
    with server.recording_requests() as requests:
        thread = threading.Thread(
            target=lambda: result.append(run_playbook(PLAYBOOK, env=server.env, extra_vars=EXTRA_VARS))
        )
        thread.start()
        deadline = time.monotonic() + HOLD_LIMIT
        while thread.is_alive() and time.monotonic() < deadline:
            new, offset = read_new_requests(server.recording, offset)
            seen += new
            if all(count(seen, call) >= times for call, times in BEFORE_RELEASE.items()):
                released_at = len(seen)
                break
            time.sleep(0.5)
        set_transition(server, {"progression": "immediate"})  # deployed at the next poll
        thread.join()
    run = result[0]
    assert run.returncode == 0, str(run)
    return OrderedRun(run, requests, released_at)


def test_the_app_tier_is_launched_while_cloudfront_deploys(first: OrderedRun):
    missing = {call: times for call, times in BEFORE_RELEASE.items() if count(first.requests, call) < times}
    assert not missing, f"never sent: {missing}\n{first.run}"
    assert first.released_at is not None, (
        f"the run did not start every long creation and the app tier while CloudFront deployed\n{first.run}"
    )
    # The creation changed the account; the wait, which only reads, waited (the polls after the
    # release: test_every_long_creation_starts_before_the_first_wait_ends).
    assert task_result(first.run.output, CREATE_TASK) == "changed"
    assert task_result(first.run.output, WAIT_TASK) == "ok"


def test_every_long_creation_starts_before_the_first_wait_ends(first: OrderedRun):
    starts = [task_start(first.run.output, task) for task in TASK_ORDER]
    assert starts == sorted(starts), "the run started its tasks out of order: " + str(
        [task for _, task in sorted(zip(starts, TASK_ORDER, strict=True))]
    )
    assert first.released_at is not None
    # The deployment was awaited: the distribution was polled after the release ...
    last_poll = first.positions(POLL_DISTRIBUTION)[-1]
    assert last_poll >= first.released_at, "the distribution was not polled after its release"
    # ... and only then were the alias records written.
    assert max(first.positions(WRITE_RECORDS)) > last_poll, "DNS records written before the deployment ended"


def test_a_rerun_changes_nothing(server: MotoServer, first: OrderedRun):
    with server.recording_requests() as requests:
        run = run_playbook(PLAYBOOK, env=server.env, extra_vars=EXTRA_VARS)
    assert run.returncode == 0, str(run)
    assert run.changed == 0, str(run)
    assert writes(requests) == [], [str(r) for r in writes(requests)]
    assert task_result(run.output, WAIT_TASK) == "ok"
