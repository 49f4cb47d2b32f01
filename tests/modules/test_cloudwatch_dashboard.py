"""library/cloudwatch_dashboard.py against the moto server, run as a role's task runs it
(tests/support/module.py; the body that is not JSON through a real playbook), and its
comparison fed the answers AWS gives (botocore's Stubber on the CloudWatch service model).

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run (unchanged, not one
mutating request, also with the same body in another key order), an out-of-band edit seen by a check
run, the update, delete (check mode first), delete again (unchanged).
"""

from __future__ import annotations

import json

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from tests.support import module
from tests.support.library_code import ModuleFailed, TaskModule, load_library_module
from tests.support.playbook import run_playbook
from tests.support.requests import writes

PLAYBOOK = "tests/modules/playbooks/cloudwatch_dashboard.yml"
NAME = "mensetsu-test"
WIDGET = {
    "type": "metric",
    "x": 0,
    "y": 0,
    "width": 12,
    "height": 6,
    "properties": {
        "title": "RDS CPU",
        "region": "ap-northeast-1",
        "stat": "Average",
        "period": 300,
        "metrics": [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", "mensetsu-test-db"]],
    },
}
BODY = {"widgets": [WIDGET]}


def run_module(check: bool = False, **args: object) -> dict:
    """The task's result for the module's options `args` (name: NAME)."""
    return module.run_module("cloudwatch_dashboard", {"name": NAME, **args}, check=check, env={"AWS_MAX_ATTEMPTS": "1"})


def stored(cloudwatch) -> dict | None:
    try:
        return json.loads(cloudwatch.get_dashboard(DashboardName=NAME)["DashboardBody"])
    except cloudwatch.exceptions.ResourceNotFound:
        return None


def test_dashboard_lifecycle(aws, boto) -> None:
    cloudwatch = boto("cloudwatch")

    planned = run_module(check=True, body=BODY)
    assert planned["changed"] is True
    assert planned["diff"] == {"before": {}, "after": BODY}
    assert stored(cloudwatch) is None, "check mode created the dashboard"

    created = run_module(body=BODY)
    assert created["changed"] is True
    assert created["arn"].endswith(f":dashboard/{NAME}")
    assert stored(cloudwatch) == BODY

    # The same body, its keys in another order and given as JSON text: no change, no write.
    reordered = json.dumps({"widgets": [dict(reversed(list(WIDGET.items())))]}, indent=2)
    with aws.recording_requests() as requests:
        again = run_module(body=BODY)
        as_text = run_module(body=reordered)
        checked = run_module(check=True, body=BODY)
    assert (again["changed"], as_text["changed"], checked["changed"]) == (False, False, False)
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert [str(request) for request in requests if request.service == "monitoring"]

    # An out-of-band edit (a widget's title changed in the console): a check run sees it, writes nothing.
    edited = {"widgets": [WIDGET | {"properties": WIDGET["properties"] | {"title": "edited by hand"}}]}
    cloudwatch.put_dashboard(DashboardName=NAME, DashboardBody=json.dumps(edited))
    with aws.recording_requests() as requests:
        drift = run_module(check=True, body=BODY)
    assert drift["changed"] is True
    assert drift["diff"]["before"] == edited and drift["diff"]["after"] == BODY
    assert writes(requests) == []
    assert stored(cloudwatch) == edited
    assert run_module(body=BODY)["changed"] is True
    assert stored(cloudwatch) == BODY

    planned_delete = run_module(check=True, state="absent")
    assert planned_delete["changed"] is True and planned_delete["diff"]["after"] == {}
    assert stored(cloudwatch) == BODY, "check mode deleted the dashboard"
    assert run_module(state="absent")["changed"] is True
    assert stored(cloudwatch) is None
    assert run_module(state="absent")["changed"] is False


def test_a_body_that_is_not_json_stops_the_task(aws) -> None:
    run = run_playbook(PLAYBOOK, extra_vars={"dashboard_name": NAME, "dashboard_body": "{not json"})
    assert run.returncode != 0
    assert "body is not a dictionary nor JSON text" in run.output


# --- AWS's own answers, through botocore's Stubber (each request checked against the service model) ---

code = load_library_module("cloudwatch_dashboard")


@pytest.fixture
def stubbed():
    client = boto3.client(
        "cloudwatch", region_name="ap-northeast-1", aws_access_key_id="stub", aws_secret_access_key="stub"
    )
    with Stubber(client) as stubber:
        # As module.client() hands it to the module: calls take aws_retry=True.
        yield RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1)), stubber
        stubber.assert_no_pending_responses()


def test_aws_pretty_printed_body_is_no_change(stubbed) -> None:
    """AWS returns the body as the text it was given; another spacing and key order is the same dashboard."""
    client, stubber = stubbed
    text = json.dumps({"widgets": [dict(sorted(WIDGET.items(), reverse=True))]}, indent=4)
    stubber.add_response(
        "get_dashboard",
        {
            "DashboardArn": f"arn:aws:cloudwatch::123456789012:dashboard/{NAME}",
            "DashboardBody": text,
            "DashboardName": NAME,
        },
        {"DashboardName": NAME},
    )
    found = code.read_dashboard(client, TaskModule({}), NAME)
    assert found == {"arn": f"arn:aws:cloudwatch::123456789012:dashboard/{NAME}", "body": BODY}


def test_aws_not_found_means_no_dashboard_and_warnings_are_returned(stubbed) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "get_dashboard",
        service_error_code="ResourceNotFound",
        http_status_code=404,
        expected_params={"DashboardName": NAME},
    )
    assert code.read_dashboard(client, TaskModule({}), NAME) is None
    warning = {"DataPath": "/widgets/0/properties/metrics/0", "Message": "The metric has no data"}
    stubber.add_response("put_dashboard", {"DashboardValidationMessages": [warning]})
    messages = code.put_dashboard(client, TaskModule({}), NAME, BODY)
    assert messages == [{"data_path": "/widgets/0/properties/metrics/0", "message": "The metric has no data"}]


def test_aws_refusal_names_the_dashboard(stubbed) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "put_dashboard",
        service_error_code="InvalidParameterInput",
        http_status_code=400,
        service_message="The field DashboardBody must be a valid JSON object",
    )
    with pytest.raises(ModuleFailed, match=f"Could not put CloudWatch dashboard {NAME}"):
        code.put_dashboard(client, TaskModule({}), NAME, BODY)
