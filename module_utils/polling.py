"""Bounded polling for AWS resources that settle asynchronously.

Used by the modules in library/ that wait for a status (a replication group becoming
`available`, a certificate turning `ISSUED`) or for attributes AWS fills in a moment after
a request (ACM's DNS validation records). The wait grows from `interval` to `max_interval`
seconds so that a fast emulator answers fast and the real API is not hammered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class PollTimeout(Exception):
    """The condition did not hold within the timeout; `last` is the last value fetched."""

    def __init__(self, last: Any, waited: float) -> None:
        super().__init__(f"condition not met after {waited:.0f} s")
        self.last = last
        self.waited = waited


def poll_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float,
    interval: float = 1.0,
    max_interval: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `fetch` until `done(result)` is true and return that result.

    Raises PollTimeout (carrying the last result) once `timeout` seconds have passed.
    `fetch` is always called at least once, so a timeout of 0 means "look once".
    """
    started = time.monotonic()
    delay = interval
    while True:
        result = fetch()
        if done(result):
            return result
        waited = time.monotonic() - started
        remaining = timeout - waited
        if remaining <= 0:
            raise PollTimeout(result, waited)
        sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_interval)
