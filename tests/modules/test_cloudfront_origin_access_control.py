"""library/cloudfront_origin_access_control.py against the moto server, run as a playbook's task runs it
(tests/support/module.py; the re-run once through a real playbook).

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run (unchanged and
not one mutating request), update of one field (check mode first), delete (check mode first).
"""

from __future__ import annotations

from urllib.parse import urlparse

from tests.support import module
from tests.support.requests import writes

NAME = "mensetsu-test-static"


def run_module(check: bool = False, playbook: bool = False, **args: object) -> dict:
    """The task's result for the module's options `args` (name: NAME unless given); `playbook`: through
    ansible-playbook."""
    return (module.play_module if playbook else module.run_module)(
        "cloudfront_origin_access_control", {"name": NAME, **args}, check=check
    )


def controls(cloudfront) -> list[dict]:
    return cloudfront.list_origin_access_controls()["OriginAccessControlList"].get("Items") or []


def test_origin_access_control_lifecycle(aws, boto) -> None:
    cloudfront = boto("cloudfront", "us-east-1")

    planned = run_module(check=True, description="static site")
    assert planned["changed"] is True
    assert planned["diff"]["before"] == {}
    assert planned["diff"]["after"]["Name"] == NAME
    assert controls(cloudfront) == [], "check mode created an origin access control"

    created = run_module(description="static site")
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
        again = run_module(playbook=True, description="static site")
        unset = run_module()  # an unset description leaves the description alone
    assert again["changed"] is False and unset["changed"] is False
    assert again["id"] == created["id"] == unset["id"]
    assert writes(requests) == [], [str(request) for request in writes(requests)]
    # The list's summaries hold the whole configuration: one request a run when nothing differs.
    paths = [urlparse(request.url).path for request in requests]
    assert paths == ["/2020-05-31/origin-access-control"] * 2, paths  # ListOriginAccessControls only
    assert len(controls(cloudfront)) == 1

    planned_update = run_module(check=True, description="renamed", signing_behavior="no-override")
    assert planned_update["changed"] is True
    assert planned_update["diff"]["after"]["Description"] == "renamed"
    assert controls(cloudfront)[0]["Description"] == "static site", "check mode updated the origin access control"

    updated = run_module(description="renamed", signing_behavior="no-override")
    assert updated["changed"] is True and updated["id"] == created["id"]
    (summary,) = controls(cloudfront)
    assert (summary["Description"], summary["SigningBehavior"]) == ("renamed", "no-override")

    planned_delete = run_module(check=True, state="absent")
    assert planned_delete["changed"] is True
    assert len(controls(cloudfront)) == 1, "check mode deleted the origin access control"

    deleted = run_module(state="absent")
    assert deleted["changed"] is True
    assert controls(cloudfront) == []
    assert run_module(state="absent")["changed"] is False
