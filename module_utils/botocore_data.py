"""What botocore read from its data files, kept once per process for every boto3 session.

The AWS collections' modules (``AnsibleAWSModule.client``) make a new boto3 session for every client,
and each new session's loader reads the service's model, its endpoint rules, its paginators and the
partitions from botocore's JSON files again: 170-270 ms of CPU per client on this project's machine,
20-90 ms once those reads are shared (docs/benchmarks.md). Under the mitogen strategy the run's AWS
modules share one interpreter (plugins/strategy/mitogen_linear.py), so once any of the project's
modules has imported this file, every later module's clients, the collections' included, are built
from data already read.

What is shared is what botocore itself already shares between the clients of one session: the
return values of the loader's cached methods (``botocore.loaders.instance_cache``), which botocore
treats as read-only. Each session keeps its own ``Loader``; nothing of a loader's state is shared or
changed. A result is reused only by a loader that would have read the same thing: the key is the
method and its arguments plus the loader's search paths, extras and file loader as they are at the
moment of the call (boto3 appends its own data directory to every new session's loader, and
``AWS_DATA_PATH`` adds others). A failed read (``DataNotFoundError``...) is not kept, as in botocore.
Lookups and insertions hold a lock; a read that two threads start at once is done twice and the
first result kept, as botocore's own cache would do in two sessions.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

try:
    import botocore.loaders

    HAS_BOTOCORE = True
except ImportError:
    HAS_BOTOCORE = False  # the modules that import this report the missing SDK

# The methods botocore's loader caches per instance (botocore/loaders.py, @instance_cache).
CACHED_METHODS = (
    "list_available_services",
    "determine_latest_version",
    "list_api_versions",
    "load_service_model",
    "load_data_with_path",
)

_DATA: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def _loader_state(loader: Any) -> tuple:
    """What decides what a loader's cached methods return, besides their arguments."""
    return (
        tuple(loader.search_paths),
        tuple(getattr(loader, "extras_types", ())),
        getattr(loader, "_include_default_extras", True),
        type(getattr(loader, "file_loader", None)),
    )


def _shared(name: str, method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = (name, _loader_state(self), args, tuple(sorted(kwargs.items())))
        with _LOCK:
            if key in _DATA:
                return _DATA[key]
        data = method(self, *args, **kwargs)
        with _LOCK:
            return _DATA.setdefault(key, data)

    wrapper.shared_by_mensetsu = True
    return wrapper


def share_botocore_data() -> None:
    """Install the process-wide cache on botocore's ``Loader`` (once; later calls do nothing)."""
    if not HAS_BOTOCORE:
        return
    with _LOCK:
        for name in CACHED_METHODS:
            method = getattr(botocore.loaders.Loader, name, None)
            if method is None or getattr(method, "shared_by_mensetsu", False):
                continue
            setattr(botocore.loaders.Loader, name, _shared(name, method))
