"""The aws_secrets role's external API keys as library/secretsmanager_secrets' arguments.

  api_keys | aws_secrets_api_key_specs(prefix, placeholder)

`api_keys` is [{name, value}] (api_key_secrets): a key the operator gave is put (and kept equal to the
given value); one not given is created with the placeholder and then left alone, so a key an operator
stored by hand is never overwritten by the placeholder.
"""

from __future__ import annotations

from typing import Any


def aws_secrets_api_key_specs(api_keys: list[dict[str, Any]], prefix: str, placeholder: str) -> list[dict]:
    return [
        {
            "name": f"{prefix}/{key['name']}",
            "description": f"{key['name']} for {prefix}",
            "secret": str(key.get("value") or "") or placeholder,
            "overwrite": len(str(key.get("value") or "")) > 0,
        }
        for key in api_keys
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"aws_secrets_api_key_specs": aws_secrets_api_key_specs}
