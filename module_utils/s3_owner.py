"""S3's bucket owner condition for every request a module sends on a bucket.

Bucket names are global: a name this account held once (or never) can belong to another account.
A request that carries ExpectedBucketOwner is refused with 403 AccessDenied when another account
owns the bucket (AWS S3 User Guide, "Verifying bucket ownership with bucket owner condition"), so
a module never reads from nor writes to another account's bucket by its name. CreateBucket and
ListBuckets do not take the condition.
"""

from __future__ import annotations

from typing import Any

DENIED_CODES = ("AccessDenied", "403")  # HeadBucket's answer has no body: its code is the status


class OwnerConditionClient:
    """The S3 client whose every request that takes ExpectedBucketOwner carries it.

    Only the client's own methods are wrapped: a paginator or waiter calls the raw client, so its
    `paginate()` or `wait()` is given ExpectedBucketOwner by the caller (`condition()`).
    """

    def __init__(self, client: Any, owner: str) -> None:
        self._client, self.owner = client, owner
        model = client.meta.service_model
        self._conditioned = {
            method
            for method, operation in client.meta.method_to_api_mapping.items()
            if "ExpectedBucketOwner" in model.operation_model(operation).input_shape.members
        }

    def condition(self) -> dict[str, str]:
        """The parameter to give a paginator's or a waiter's requests."""
        return {"ExpectedBucketOwner": self.owner}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in self._conditioned:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("ExpectedBucketOwner", self.owner)
            return attribute(*args, **kwargs)

        return call
