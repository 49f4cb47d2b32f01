"""Bucket policies: one shape for every bucket of the platform, TLS-only by default."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping


def s3_tls_only_statement(bucket: str, partition: str = "aws") -> dict:
    """The statement that refuses every request to the bucket and its objects made without TLS."""
    return {
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def s3_bucket_policy(
    statements: Iterable[Mapping], bucket: str, deny_plain_http: bool = True, partition: str = "aws"
) -> str:
    """The bucket's policy document as JSON: the given statements, then the TLS-only Deny (when
    `deny_plain_http`); an empty string when that leaves no statement (no policy). The Deny comes
    last: moto's PutBucketLogging reads the target's statements in order and fails (HTTP 500) on a
    Principal "*" before it reaches the logging grant; to AWS the order means nothing."""
    body = [dict(s) for s in statements] + ([s3_tls_only_statement(bucket, partition)] if deny_plain_http else [])
    return json.dumps({"Version": "2012-10-17", "Statement": body}) if body else ""


class FilterModule:
    def filters(self) -> dict:
        return {"s3_bucket_policy": s3_bucket_policy}
