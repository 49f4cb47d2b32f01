"""Independent AWS reads of one module run side by side, in threads over the module's clients.

A no-op run is mostly reads, and against the real API each costs a round trip (tens of ms from a
laptop or a CI runner far from the region, docs/benchmarks.md): reads that do not need each other's
answers wait for the slowest, not for their sum. botocore's clients are thread-safe and keep a pool of
connections (10 by default), so one client serves all the threads.

Each read is a function that may end the module as it would alone (``fail_json``, ``fail_json_aws``).
While the reads run, the module's ``fail_json`` is held back: a failing read raises instead of
printing its result, so two failing reads never print two results, and the module fails once every
read has returned, with the first failure in the order the reads were given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

try:
    import botocore.exceptions

    AWS_ERRORS: tuple[type[Exception], ...] = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing SDK

T = TypeVar("T")

# botocore's default max_pool_connections: more threads would wait for a connection anyway.
MAX_THREADS = 10


class _HeldFailure(Exception):
    """A read's call of ``fail_json``, with its arguments, kept until every read has returned."""

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__(kwargs.get("msg", ""))
        self.positional, self.kwargs = args, kwargs


def aws_read(module: Any, what: str, call: Callable[[], T]) -> Callable[[], T]:
    """``call`` as a read that fails the module with "Failed to read <what>" on an AWS error."""

    def read() -> T:
        try:
            return call()
        except AWS_ERRORS as error:
            module.fail_json_aws(error, msg=f"Failed to read {what}")
        raise AssertionError("fail_json_aws returned")  # pragma: no cover - it exits or raises

    return read


def early_read(call: Callable[[], T], missed: Any = None) -> Callable[[], Any]:
    """``call`` as a read sent before the answer that tells whether it is needed: by a name, or by the
    ARN the resource will have (``arn_to_be``), beside the read that finds the resource. An AWS error
    only means "not read": it returns ``missed``, and the caller asks again (by the resource's own
    name or ARN) where the answer matters, where an error fails the module as it would alone."""

    def read() -> Any:
        try:
            return call()
        except AWS_ERRORS:
            return missed

    return read


def arn_to_be(client: Any, service: str, account_id: str, resource: str) -> str:
    """The ARN a regional resource of the client's partition and region has in ``account_id``:
    ``arn:<partition>:<service>:<region>:<account>:<resource>``."""
    return f"arn:{client.meta.partition}:{service}:{client.meta.region_name}:{account_id}:{resource}"


def read_in_parallel(module: Any, reads: Mapping[Any, Callable[[], Any]]) -> dict[Any, Any]:
    """``{name: read()}`` for every read, run side by side; see the module's docstring for failures."""
    if len(reads) <= 1:
        return {name: read() for name, read in reads.items()}

    def held(*args: Any, **kwargs: Any) -> None:
        raise _HeldFailure(args, kwargs)

    fail_json = module.fail_json
    own = "fail_json" in vars(module)  # set on the instance (a test's double), not the class's method
    module.fail_json = held
    results: dict[Any, Any] = {}
    failure: _HeldFailure | None = None
    try:
        with ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(reads))) as pool:
            futures = {name: pool.submit(read) for name, read in reads.items()}
            for name, future in futures.items():
                try:
                    results[name] = future.result()
                except _HeldFailure as held_failure:
                    failure = failure or held_failure
    finally:
        if own:
            module.fail_json = fail_json
        else:
            del module.fail_json
    if failure is not None:
        fail_json(*failure.positional, **failure.kwargs)
    return results
