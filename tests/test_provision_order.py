"""The long creations of playbooks/provision.yml start before the run waits for any of them.

On a moto server of its own, CloudFront's deployment is held back (moto's state manager) and
aws_edge_wait is on. The playbook runs in a thread; the test releases the deployment only once the
app hosts exist. A run that waited for CloudFront before going on would never launch them (the
test then fails after HOLD_LIMIT seconds). The request log must then show every long creation
(RDS, ElastiCache, both ACM certificates, CloudFront) started before the app tier, the app tier
created while the distribution was still being polled, and the DNS records written after it.
A re-run changes nothing and writes nothing. moto makes RDS and
ElastiCache available at once, so their background waits are not started here.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from tests.support.moto import MotoServer, start_moto
from tests.support.playbook import PlaybookRun, run_playbook
from tests.support.requests import AwsRequest, writes

PLAYBOOK = "playbooks/provision.yml"
EXTRA_VARS = {"aws_edge_wait": True}
HOLD_LIMIT = 900
CREATE_DISTRIBUTION = "POST /2020-05-31/distribution"
WAIT_TASK = "aws_edge : Wait until the distribution is deployed"


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


def app_hosts_exist(server: MotoServer) -> bool:
    ec2 = server.client("ec2")
    reservations = ec2.describe_instances(Filters=[{"Name": "tag:Role", "Values": ["app"]}])["Reservations"]
    return bool(reservations)


@pytest.fixture(scope="module")
def first(server: MotoServer) -> tuple[PlaybookRun, list[AwsRequest], bool]:
    set_transition(server, {"progression": "manual", "times": 10**6})  # InProgress until released
    result: list[PlaybookRun] = []
    with server.recording_requests() as requests:
        thread = threading.Thread(
            target=lambda: result.append(run_playbook(PLAYBOOK, env=server.env, extra_vars=EXTRA_VARS))
        )
        thread.start()
        deadline = time.monotonic() + HOLD_LIMIT
        while thread.is_alive() and not app_hosts_exist(server) and time.monotonic() < deadline:
            time.sleep(2)
        launched_while_held = app_hosts_exist(server)
        set_transition(server, {"progression": "immediate"})  # deployed at the next poll
        thread.join()
    run = result[0]
    assert run.returncode == 0, str(run)
    return run, requests, launched_while_held


def positions(requests: list[AwsRequest], action: str) -> list[int]:
    """Where `action` (an API action, or "METHOD /path-prefix" for the REST APIs) is in the log."""
    method, _, path = action.partition(" ")
    found = [
        index
        for index, request in enumerate(requests)
        if request.action == action
        or (path and request.method == method and urlparse(request.url).path.startswith(path))
    ]
    assert found, f"no {action} in the request log: {[str(r) for r in requests]}"
    return found


def task_result(output: str, task: str) -> str:
    """The first result word (ok, changed, skipping, ...) printed under the task `task`."""
    match = re.search(rf"^TASK \[{re.escape(task)}\].*?^(\w+):", output, re.M | re.S)
    assert match, f"no task {task!r} in the output"
    return match.group(1)


def test_the_app_tier_is_launched_while_cloudfront_deploys(first):
    run, _, launched_while_held = first
    assert task_result(run.output, WAIT_TASK) == "changed"
    assert launched_while_held, f"the run did not reach the app hosts while CloudFront deployed\n{run}"


def test_every_long_creation_starts_before_the_first_wait_ends(first):
    _, requests, _ = first
    long_creations = [
        *positions(requests, "CreateDBInstance"),
        *positions(requests, "CreateReplicationGroup"),
        *positions(requests, "RequestCertificate"),
    ]
    assert len(positions(requests, "RequestCertificate")) == 2
    started_at = positions(requests, CREATE_DISTRIBUTION)[0]
    assert max(long_creations) < started_at
    last_poll = positions(requests, "GET /2020-05-31/distribution/")[-1]
    app_tier = positions(requests, "ImportKeyPair") + positions(requests, "RunInstances")
    assert started_at < min(app_tier) and max(app_tier) < last_poll
    records = [i for i in positions(requests, "POST /2013-04-01/hostedzone/") if "/rrset" in requests[i].url]
    assert max(records) > last_poll, "the DNS records were all written before the distribution was deployed"


def test_a_rerun_changes_nothing(server: MotoServer, first):
    with server.recording_requests() as requests:
        run = run_playbook(PLAYBOOK, env=server.env, extra_vars=EXTRA_VARS)
    assert run.returncode == 0, str(run)
    assert run.changed == 0, str(run)
    assert writes(requests) == [], [str(r) for r in writes(requests)]
    assert task_result(run.output, WAIT_TASK) == "ok"
