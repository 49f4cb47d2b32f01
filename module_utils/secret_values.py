"""Read several Secrets Manager values in one request (BatchGetSecretValue).

Used by library/secretsmanager_secrets (the values it must compare before it may overwrite them) and
library/secretsmanager_secret_values_info (the credentials roles/aws_data reads). AWS reads up to 20
secrets a request, may page even a list of ids (NextToken), and answers a secret it cannot read
(missing, scheduled for deletion, not allowed) as an entry of `Errors` instead of failing the request.
"""

from __future__ import annotations

from typing import Any

BATCH = 20  # the most secrets one BatchGetSecretValue reads


def batch_read_values(client: Any, ids: list[str]) -> tuple[dict[str, str | None], list[dict[str, str]]]:
    """({ARN: SecretString, name: SecretString}, [{SecretId, ErrorCode, Message}]) of the secrets `ids`
    (names or ARNs): one request per 20, every page. What the request itself raises is the caller's."""
    values: dict[str, str | None] = {}
    errors: list[dict[str, str]] = []
    for first in range(0, len(ids), BATCH):
        request: dict[str, Any] = {"SecretIdList": ids[first : first + BATCH]}
        while True:
            answer = client.batch_get_secret_value(aws_retry=True, **request)
            errors += answer.get("Errors") or []
            for entry in answer.get("SecretValues") or []:
                values[entry["ARN"]] = values[entry["Name"]] = entry.get("SecretString")
            if not answer.get("NextToken"):
                break
            request["NextToken"] = answer["NextToken"]
    return values, errors


def describe_errors(errors: list[dict[str, str]]) -> str:
    """The errors of a batch read, one `id: code message` each, for a failure message."""
    return "; ".join(f"{error.get('SecretId')}: {error.get('ErrorCode')} {error.get('Message')}" for error in errors)
