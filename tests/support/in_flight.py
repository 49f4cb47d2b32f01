"""A stand-in for a slow AWS round trip that counts how many calls are inside it at once."""

from __future__ import annotations

import threading
import time
from typing import Any


class InFlight:
    """Call it (any arguments) from the code under test: each call takes `seconds`; `most` is the
    largest number of calls that were inside it at the same time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.most = 0
        self._inside = 0
        self._lock = threading.Lock()

    def __call__(self, *_args: Any, **_kwargs: Any) -> None:
        with self._lock:
            self._inside += 1
            self.most = max(self.most, self._inside)
        time.sleep(self.seconds)
        with self._lock:
            self._inside -= 1
