"""Read moto's request recording and tell reads from writes.

Query APIs (EC2, IAM, RDS, ElastiCache, ELBv2, STS) carry `Action=` in the body or the query
string; JSON APIs (Secrets Manager, ACM, SSM, Budgets) carry `X-Amz-Target`; REST APIs
(S3, CloudFront, Route 53) say it with the HTTP method.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Lookup", "Search", "BatchGet", "Check", "Validate")
# Calls that do not change any resource although their names do not say so.
READ_ACTIONS = {"AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity", "DecodeAuthorizationMessage"}
_CREDENTIAL = re.compile(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/")


@dataclass(frozen=True)
class AwsRequest:
    service: str
    region: str
    method: str
    action: str
    url: str

    @property
    def writes(self) -> bool:
        if self.action:
            return not (self.action.startswith(READ_PREFIXES) or self.action in READ_ACTIONS)
        return self.method not in ("GET", "HEAD", "OPTIONS")

    def __str__(self) -> str:
        return f"{self.service} {self.action or self.method + ' ' + urlparse(self.url).path}"

    def is_call(self, call: str) -> bool:
        """Whether this is `call`: an API action ("RunInstances"), or for the REST APIs "METHOD path",
        the path a regular expression matched from its start ("POST /2013-04-01/hostedzone$")."""
        method, _, path = call.partition(" ")
        if not path:
            return self.action == call
        return self.method == method and re.match(path, urlparse(self.url).path) is not None


def _action(entry: dict) -> str:
    headers = {key.lower(): value for key, value in entry.get("headers", {}).items()}
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(urlparse(entry.get("url", "")).query)
    if "Action" in query:
        return query["Action"][0]
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        try:
            body = base64.b64decode(body).decode()
        except (ValueError, UnicodeDecodeError):
            return ""
    if "x-www-form-urlencoded" in headers.get("content-type", ""):
        form = parse_qs(body)
        if "Action" in form:
            return form["Action"][0]
    return ""


def _scope(entry: dict) -> tuple[str, str]:
    headers = {key.lower(): value for key, value in entry.get("headers", {}).items()}
    match = _CREDENTIAL.search(headers.get("authorization", ""))
    return (match.group(2), match.group(1)) if match else ("unknown", "unknown")


def parse_recording(text: str) -> list[AwsRequest]:
    requests = []
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        service, region = _scope(entry)
        requests.append(
            AwsRequest(
                service=service,
                region=region,
                method=entry.get("method", ""),
                action=_action(entry),
                url=entry.get("url", ""),
            )
        )
    return requests


def read_new_requests(path: Path, offset: int) -> tuple[list[AwsRequest], int]:
    """The requests moto appended to its recording file since `offset`, and the offset after them.

    Only complete lines are read: moto writes an entry and its newline separately.
    """
    with open(path, "rb") as recording:
        recording.seek(offset)
        data = recording.read()
    complete = data[: data.rfind(b"\n") + 1]
    return parse_recording(complete.decode()), offset + len(complete)


def writes(requests: list[AwsRequest]) -> list[AwsRequest]:
    return [request for request in requests if request.writes]


def distribution_configs_read(requests: list[AwsRequest]) -> set[str]:
    """The CloudFront distributions whose configuration was read (GET .../distribution/<id>/config)."""
    found = (re.search(r"/distribution/([^/?]+)/config$", urlparse(request.url).path) for request in requests)
    return {match.group(1) for match in found if match}
