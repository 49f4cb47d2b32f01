#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_drift_attribution_info
short_description: Say who last wrote to each drifted or unmanaged resource, from CloudTrail's event history
version_added: 1.0.0
description:
  - For each resource, reads CloudTrail's event history (LookupEvents, the last 90 days, with
    C(LookupAttributes) C(ResourceName) = the resource's id or ARN) and returns its most recent
    write events, read-only events left out; each with its time, event name, the principal's ARN
    (C(userIdentity.arn) of the event's JSON), source IP and user agent.
  - LookupEvents allows 2 requests per second per account and region; the lookups run in a few
    threads behind one shared rate limit (I(rate)), and at most I(max_lookups) resources are looked
    up in one run (the others say so).
  - When the caller may not read the history (C(AccessDeniedException)) or the endpoint does not
    implement LookupEvents (the emulator, moto 5.2.5), every resource says why it has no
    attribution; the module does not fail.
  - Read-only, in check mode or not; C(changed) is always false.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  resources:
    description: The resources to attribute.
    type: list
    elements: dict
    required: true
    suboptions:
      key: {description: The caller's key for the resource (returned as is)., type: str, required: true}
      lookup: {description: "The C(ResourceName) to look up: an id, a name or an ARN.", type: str, required: true}
  max_lookups:
    description: At most this many resources are looked up; 0 looks up none.
    type: int
    default: 20
  max_events:
    description: The most recent write events kept per resource.
    type: int
    default: 3
  rate:
    description: LookupEvents requests per second, for all threads together (the API allows 2 per account and region).
    type: float
    default: 2.0
  max_workers:
    description: Threads looking up at once.
    type: int
    default: 4
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Say who last changed the drifted resources
  aws_drift_attribution_info:
    resources:
      - {key: "AWS::EC2::SecurityGroup sg-0abc", lookup: sg-0abc}
      - {key: "AWS::IAM::Role mensetsu-dev-app", lookup: mensetsu-dev-app}
"""

RETURN = r"""
attribution:
  description: Per resource key, the status, the reason when there are no events, and the events.
  returned: always
  type: dict
  sample:
    "AWS::EC2::SecurityGroup sg-0abc":
      status: found
      reason: ""
      events:
        - time: "2026-12-05T23:14:09+00:00"
          event_name: AuthorizeSecurityGroupIngress
          principal_arn: arn:aws:sts::123456789012:assumed-role/Admin/alice
          source_ip: 203.0.113.7
          user_agent: console.ec2.amazonaws.com
          event_source: ec2.amazonaws.com
          event_id: 0a1b2c3d-0000-0000-0000-000000000000
requests:
  description: How many LookupEvents requests were sent.
  returned: always
  type: int
"""

import datetime
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    import botocore.config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule

HISTORY_DAYS = 90  # CloudTrail's event history
PAGE = 50  # LookupEvents' largest page
DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException")


class RateLimit:
    """At most `rate` request starts per second, whatever thread asks."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.interval
        if start > now:
            time.sleep(start - now)


def write_events(answer: dict[str, Any], keep: int) -> list[dict[str, Any]]:
    """The newest write events of a LookupEvents answer (newest first, as the API returns them)."""
    events = []
    for event in answer.get("Events", []):
        detail = json.loads(event.get("CloudTrailEvent") or "{}")
        if str(event.get("ReadOnly", detail.get("readOnly", "false"))).lower() == "true":
            continue
        identity = detail.get("userIdentity") or {}
        when = event.get("EventTime")
        events.append(
            {
                "time": when.isoformat() if isinstance(when, datetime.datetime) else str(when),
                "event_name": event.get("EventName") or detail.get("eventName"),
                "principal_arn": identity.get("arn") or identity.get("invokedBy") or event.get("Username"),
                "source_ip": detail.get("sourceIPAddress"),
                "user_agent": detail.get("userAgent"),
                "event_source": event.get("EventSource") or detail.get("eventSource"),
                "event_id": event.get("EventId"),
            }
        )
    return events[:keep]


def why_not(error: Exception) -> tuple[str, bool]:
    """(reason, whether every later lookup fails the same way) for a failed LookupEvents."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in DENIED:
            return f"the caller may not read CloudTrail's event history (cloudtrail:LookupEvents: {code})", True
        if code in ("NotImplemented", "InternalFailure", "500", "InternalError") or status in (500, 501):
            reason = (
                f"CloudTrail LookupEvents answered {code or status}: the endpoint does not implement it "
                "(an emulator: moto 5.2.5 has no LookupEvents) or CloudTrail failed"
            )
            return reason, True
        return f"CloudTrail LookupEvents failed: {code}: {error.response.get('Error', {}).get('Message', '')}", False
    return f"CloudTrail could not be reached: {error}", True


def attribute(
    client: Any, resources: list[dict[str, str]], max_lookups: int, max_events: int, rate: float, workers: int
) -> tuple[dict[str, dict[str, Any]], int]:
    """The attribution of every resource, and the number of requests sent."""
    limit = RateLimit(rate)
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=HISTORY_DAYS)
    stop = threading.Event()
    stopped: dict[str, str] = {}
    counter = {"requests": 0}
    lock = threading.Lock()
    seen: dict[str, str] = {}
    result: dict[str, dict[str, Any]] = {}
    todo = []
    for resource in resources:
        if resource["key"] in result:
            continue
        if resource["lookup"] in seen or len(todo) < max_lookups:
            seen.setdefault(resource["lookup"], resource["key"])
            todo.append(resource)
            result[resource["key"]] = {}
        else:
            reason = f"not looked up: over this run's limit of {max_lookups} lookups (drift_attribution_max_lookups)"
            result[resource["key"]] = {"status": "skipped", "reason": reason, "events": []}
    answers: dict[str, dict[str, Any]] = {}

    def lookup(value: str) -> dict[str, Any]:
        if stop.is_set():
            return {"status": "unavailable", "reason": stopped["reason"], "events": []}
        limit.wait()
        with lock:
            counter["requests"] += 1
        try:
            answer = client.lookup_events(
                LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": value}],
                StartTime=start,
                MaxResults=PAGE,
            )
        except (ClientError, BotoCoreError) as error:
            reason, final = why_not(error)
            if final:
                stopped.setdefault("reason", reason)
                stop.set()
            return {"status": "unavailable", "reason": reason, "events": []}
        events = write_events(answer, max_events)
        if events:
            return {"status": "found", "reason": "", "events": events}
        return {"status": "none", "reason": f"no write event in CloudTrail's last {HISTORY_DAYS} days", "events": []}

    values = list(dict.fromkeys(resource["lookup"] for resource in todo))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for value, answer in zip(values, pool.map(lookup, values), strict=True):
            answers[value] = answer
    for resource in todo:
        result[resource["key"]] = answers[resource["lookup"]]
    return result, counter["requests"]


def main() -> None:
    resource = dict(key=dict(type="str", required=True, no_log=False), lookup=dict(type="str", required=True))
    argument_spec = dict(
        resources=dict(type="list", elements="dict", required=True, options=resource),
        max_lookups=dict(type="int", default=20),
        max_events=dict(type="int", default=3),
        rate=dict(type="float", default=2.0),
        max_workers=dict(type="int", default=4),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    # Throttling is retried by botocore; an emulator without the API answers at once (no retries).
    config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 3}, tcp_keepalive=True)
    client = module.client("cloudtrail", config=config)
    params = module.params
    result, requests = attribute(
        client, params["resources"], params["max_lookups"], params["max_events"], params["rate"], params["max_workers"]
    )
    module.exit_json(changed=False, attribution=result, requests=requests)


if __name__ == "__main__":
    main()
