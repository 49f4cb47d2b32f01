"""A moto server whose state a test can change the way AWS changes it, outside any API call.

Run as `python -m tests.support.moto_control -H 127.0.0.1 -p PORT` (start_moto(controlled=True)).
Beside moto's own routes it answers POSTs to /_emulator/...:

- `public-parameter` {region, name, value}: AWS moves a public SSM parameter (the Amazon Linux
  AMI parameter moves every few weeks); PutParameter refuses /aws/ names, on AWS as in moto.
- `instance-type-offerings` {region, instance_type, zones}: the availability zones that offer a
  type, as one account sees them (an AZ without t3/t4g); moto's table is the same for everyone.
- `fail` {method, path, target, times, status, code, message}: the next `times` requests that
  match answer AWS's error instead of reaching moto (ACM's ResourceInUseException and
  CloudFront's OriginAccessControlInUse for a while after a dependant is gone).
  GET /_emulator/fail answers how many each rule answered.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.ec2.models import instance_types
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.ssm.models import Parameter, ssm_backends
from werkzeug.serving import run_simple

import tests.support.moto_aws  # noqa: F401 - moto answering as AWS does where they differ

ACCOUNT = "123456789012"
_rules: list[dict[str, Any]] = []
_lock = threading.Lock()


def move_public_parameter(region: str, name: str, value: str) -> dict[str, Any]:
    versions = ssm_backends[ACCOUNT][region]._parameters[name]  # loads moto's public parameters first
    current = versions[-1]
    versions.append(
        Parameter(
            account_id=ACCOUNT,
            name=name,
            value=value,
            parameter_type=current.parameter_type,
            description=None,
            allowed_pattern=None,
            keyid=None,
            last_modified_date=current.last_modified_date,
            version=current.version + 1,
            data_type=current.data_type,
        )
    )
    return {"name": name, "value": value, "version": current.version + 1}


def set_offerings(region: str, instance_type: str, zones: list[str]) -> dict[str, Any]:
    table = instance_types.INSTANCE_TYPE_OFFERINGS["availability-zone"]
    kept = [offer for offer in table.get(region, []) if offer["InstanceType"] != instance_type]
    table[region] = kept + [
        {"InstanceType": instance_type, "LocationType": "availability-zone", "Location": zone} for zone in zones
    ]
    return {"region": region, "instance_type": instance_type, "zones": zones}


def _error_body(rule: dict[str, Any]) -> tuple[str, bytes]:
    if rule.get("target"):  # a JSON protocol (ACM, SSM, ...)
        return "application/x-amz-json-1.1", json.dumps({"__type": rule["code"], "message": rule["message"]}).encode()
    xml = (  # a REST-XML protocol (CloudFront, Route 53, S3)
        '<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
        f"<Error><Type>Sender</Type><Code>{rule['code']}</Code><Message>{rule['message']}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
    return "text/xml", xml.encode()


def _matching_rule(environ: dict[str, Any]) -> dict[str, Any] | None:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    with _lock:
        for rule in _rules:
            if rule["answered"] >= rule["times"] or environ["REQUEST_METHOD"] != rule.get("method", "POST"):
                continue
            if rule.get("target") and rule["target"] != target:
                continue
            if rule.get("path") and not re.fullmatch(rule["path"], environ.get("PATH_INFO", "")):
                continue
            rule["answered"] += 1
            return rule
    return None


def _control(environ: dict[str, Any]) -> Any:
    path = environ["PATH_INFO"].removeprefix("/_emulator/")
    if environ["REQUEST_METHOD"] == "GET" and path == "fail":
        with _lock:
            return [{**rule} for rule in _rules]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    if path == "public-parameter":
        return move_public_parameter(body["region"], body["name"], body["value"])
    if path == "instance-type-offerings":
        return set_offerings(body["region"], body["instance_type"], body["zones"])
    if path == "fail":
        with _lock:
            _rules.append({**body, "answered": 0})
        return body
    raise KeyError(path)


def application(moto_app: Callable) -> Callable:
    def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ["PATH_INFO"].startswith("/_emulator/"):
            answer = json.dumps(_control(environ)).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
            return [answer]
        rule = _matching_rule(environ)
        if rule:
            content_type, body = _error_body(rule)
            start_response(
                f"{rule['status']} Error", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
            )
            return [body]
        return moto_app(environ, start_response)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    moto_app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        application(moto_app),
        threaded=True,
        use_reloader=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
