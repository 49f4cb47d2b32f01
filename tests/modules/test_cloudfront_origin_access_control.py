"""library/cloudfront_origin_access_control.py against the moto server, run the way a playbook runs it.

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run (unchanged and
not one mutating request), update of one field (check mode first), delete (check mode first).
"""

from __future__ import annotations

from tests.support.playbook import JSON_OUTPUT, run_playbook, task_result_json
from tests.support.requests import writes

PLAYBOOK = "tests/modules/playbooks/cloudfront_origin_access_control.yml"
# The json callback prints each task's result: what the module returned to the playbook.
NAME = "mensetsu-test-static"


def run_module(check: bool = False, **variables: object) -> dict:
    """Run the playbook with oac_* variables; return the task's result (with the play's recap as `stats`)."""
    run = run_playbook(PLAYBOOK, extra_vars={"oac_name": NAME, **variables}, check=check, diff=True, env=JSON_OUTPUT)
    return task_result_json(run)


def controls(cloudfront) -> list[dict]:
    return cloudfront.list_origin_access_controls()["OriginAccessControlList"].get("Items") or []


def test_origin_access_control_lifecycle(aws, boto) -> None:
    cloudfront = boto("cloudfront", "us-east-1")

    planned = run_module(check=True, oac_description="static site")
    assert planned["changed"] is True
    assert planned["diff"]["before"] == {}
    assert planned["diff"]["after"]["Name"] == NAME
    assert controls(cloudfront) == [], "check mode created an origin access control"

    created = run_module(oac_description="static site")
    assert created["changed"] is True
    config = cloudfront.get_origin_access_control(Id=created["id"])["OriginAccessControl"]["OriginAccessControlConfig"]
    assert config == {
        "Name": NAME,
        "Description": "static site",
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    assert created["origin_access_control_config"]["signing_behavior"] == "always"
    assert created["etag"]

    with aws.recording_requests() as requests:
        again = run_module(oac_description="static site")
        unset = run_module()  # an unset description leaves the description alone
    assert again["changed"] is False and unset["changed"] is False
    assert again["id"] == created["id"] == unset["id"]
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    assert len(controls(cloudfront)) == 1

    planned_update = run_module(check=True, oac_description="renamed", oac_signing_behavior="no-override")
    assert planned_update["changed"] is True
    assert planned_update["diff"]["after"]["Description"] == "renamed"
    assert controls(cloudfront)[0]["Description"] == "static site", "check mode updated the origin access control"

    updated = run_module(oac_description="renamed", oac_signing_behavior="no-override")
    assert updated["changed"] is True and updated["id"] == created["id"]
    (summary,) = controls(cloudfront)
    assert (summary["Description"], summary["SigningBehavior"]) == ("renamed", "no-override")

    planned_delete = run_module(check=True, oac_state="absent")
    assert planned_delete["changed"] is True
    assert len(controls(cloudfront)) == 1, "check mode deleted the origin access control"

    deleted = run_module(oac_state="absent")
    assert deleted["changed"] is True
    assert controls(cloudfront) == []
    assert run_module(oac_state="absent")["changed"] is False
