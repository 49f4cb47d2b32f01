"""library/ssm_session_preferences.py against the moto server, run as a playbook's task runs it
(tests/support/module.py; the out-of-range timeout through a real playbook).

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run and check run
(unchanged, not one mutating request), an out-of-band change (the console's) seen by check mode and
put back as a new default version, a return to an earlier version's content (AWS refuses the
duplicate content: the module makes that version the default), delete (check mode first).
"""

from __future__ import annotations

import json

from tests.support import module
from tests.support.playbook import run_playbook
from tests.support.requests import writes

PLAYBOOK = "tests/modules/playbooks/ssm_session_preferences.yml"
NAME = "SSM-SessionManagerRunShell"
GROUP = "/mensetsu/test/ssm-sessions"


def run_module(check: bool = False, **args: object) -> dict:
    """The task's result for the module's options `args`."""
    return module.run_module("ssm_session_preferences", args, check=check, env={"AWS_MAX_ATTEMPTS": "1"})


def default_document(client) -> tuple[dict, str]:
    found = client.get_document(Name=NAME)
    return json.loads(found["Content"]), found["DocumentVersion"]


def documents(client) -> list[str]:
    found = client.list_documents(Filters=[{"Key": "Name", "Values": [NAME]}])["DocumentIdentifiers"]
    return [document["Name"] for document in found]


def test_preferences_lifecycle(aws, boto) -> None:
    ssm = boto("ssm", "ap-northeast-1")

    planned = run_module(check=True, cloudwatch_log_group_name=GROUP)
    assert planned["changed"] is True
    assert planned["diff"]["before"] == {}
    assert planned["diff"]["after"]["inputs"]["cloudWatchLogGroupName"] == GROUP
    assert documents(ssm) == [], "check mode created the document"

    created = run_module(cloudwatch_log_group_name=GROUP)
    assert created["changed"] is True and created["document_version"] == "1"
    content, _ = default_document(ssm)
    assert ssm.describe_document(Name=NAME)["Document"]["DocumentType"] == "Session"
    assert content["sessionType"] == "Standard_Stream"
    assert content["inputs"]["cloudWatchLogGroupName"] == GROUP
    assert content["inputs"]["idleSessionTimeout"] == "20" and content["inputs"]["s3BucketName"] == ""

    with aws.recording_requests() as requests:
        again = run_module(cloudwatch_log_group_name=GROUP)
        checked = run_module(check=True, cloudwatch_log_group_name=GROUP)
    assert again["changed"] is False and checked["changed"] is False
    assert writes(requests) == [], [str(request) for request in writes(requests)]

    # Out of band, as the console saves it: logging off, a longer idle timeout (a new default version).
    console = json.loads(json.dumps(content))
    console["inputs"].update(cloudWatchLogGroupName="", idleSessionTimeout="60")
    ssm.update_document(Name=NAME, Content=json.dumps(console), DocumentVersion="$LATEST")
    ssm.update_document_default_version(Name=NAME, DocumentVersion="2")
    seen = run_module(check=True, cloudwatch_log_group_name=GROUP)
    assert seen["changed"] is True
    assert seen["diff"]["before"]["inputs"]["cloudWatchLogGroupName"] == ""
    assert seen["diff"]["after"]["inputs"]["cloudWatchLogGroupName"] == GROUP
    assert default_document(ssm)[1] == "2", "check mode wrote a version"

    # Version 1 holds the declared content: AWS refuses it as a new version (DuplicateDocumentContent),
    # so the module makes version 1 the default again.
    restored = run_module(cloudwatch_log_group_name=GROUP)
    assert restored["changed"] is True and restored["document_version"] == "1"
    assert default_document(ssm) == (content, "1")

    # A declared change goes in as a new default version.
    shorter = run_module(cloudwatch_log_group_name=GROUP, idle_session_timeout=10)
    assert shorter["changed"] is True and shorter["document_version"] == "3"
    assert default_document(ssm)[0]["inputs"]["idleSessionTimeout"] == "10"
    assert run_module(cloudwatch_log_group_name=GROUP, idle_session_timeout=10)["changed"] is False

    planned_delete = run_module(check=True, state="absent")
    assert planned_delete["changed"] is True and planned_delete["diff"]["after"] == {}
    assert documents(ssm) == [NAME], "check mode deleted the document"
    assert run_module(state="absent")["changed"] is True
    assert documents(ssm) == []
    assert run_module(state="absent")["changed"] is False


def test_an_idle_timeout_out_of_range_fails_clearly(aws) -> None:
    run = run_playbook(PLAYBOOK, extra_vars={"prefs_idle_timeout": 90})
    assert run.returncode != 0
    assert "idle_session_timeout: 90 is not 1 to 60 minutes" in run.output
