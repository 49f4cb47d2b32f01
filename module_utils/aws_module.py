"""``AWSModule`` and the boto3 clients every AWS module of a run shares in one process.

``AnsibleAWSModule.client`` builds a new ``boto3.session.Session`` and a new client for every call, and
every new client opens connections of its own: a TCP connection and, on AWS, a TLS handshake for the
first request of every task, and 20-90 ms of CPU to build the client even with botocore's data kept
(``botocore_data``). Under the mitogen strategy (ansible.cfg) every AWS module of a run executes in
the same long-lived interpreter (plugins/strategy/mitogen_linear.py keeps mitogen from forking one
per module), so a client kept per process serves every later task with its pooled, kept-alive
connections. Under stock Ansible each module is a process of its own and nothing changes.

Importing this file installs both caches for every module of the process, the collections' included:

- botocore's data files read once per process (``botocore_data.share_botocore_data``);
- one client per service and connection setting (``share_clients``): ``AWSModule.client`` and
  amazon.aws's ``boto3_conn`` (which ``AnsibleAWSModule.client`` calls) return the client an earlier
  task of the process made with the same settings.

What a client is reused for: the same process id (a forked child never uses its parent's
connections), the same service, region, endpoint, profile, explicit credentials and botocore
``Config``, the same ``AWS_*`` environment variables (credentials, profile, endpoint, retry mode...),
and the same shared config and credentials files (path, size and modification time). Anything else
gets a client of its own. botocore's clients are thread-safe and keep their credentials refreshed
(assumed roles, SSO); the clients are never closed or changed by the modules (neither the
collections' nor the project's register events or touch ``client.meta``). The key holds a SHA-256
digest of the settings, never the credentials themselves. Resources (``conn_type`` resource or both)
and placebo's recording or replaying runs (amazon.aws's tests) are built as before, uncached.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from typing import Any

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:
    pass  # AnsibleAWSModule reports the missing SDK

from ansible.module_utils.ansible_release import __version__ as ansible_version
from ansible.module_utils.botocore_data import share_botocore_data
from ansible_collections.amazon.aws.plugins.module_utils import botocore as aws_botocore
from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

USER_AGENT = f"APN/1.0 Ansible/{ansible_version} mensetsu"

_SESSIONS: dict[tuple, Any] = {}
_CLIENTS: dict[tuple, Any] = {}
_LOCK = threading.RLock()

# Placebo (amazon.aws's recorded-response tests) attaches itself to each new session.
PLACEBO_VARIABLES = ("_ANSIBLE_PLACEBO_RECORD", "_ANSIBLE_PLACEBO_REPLAY")


def _files_state() -> tuple:
    """The shared config and credentials files as they are now: a changed file means new sessions."""
    state = []
    files = (("AWS_CONFIG_FILE", "~/.aws/config"), ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"))
    for variable, default in files:
        path = os.path.expanduser(os.environ.get(variable) or default)
        try:
            stat = os.stat(path)
            state.append((path, stat.st_size, stat.st_mtime_ns))
        except OSError:
            state.append((path, None, None))
    return tuple(state)


def _session_key(profile: str | None) -> tuple:
    aws_environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    return (os.getpid(), profile, aws_environment, _files_state())


def shared_session(profile: str | None = None) -> Any:
    """This process's boto3 session for ``profile`` and the current ``AWS_*`` environment. Call with _LOCK held."""
    key = _session_key(profile)
    session = _SESSIONS.get(key)
    if session is None:
        session = _SESSIONS[key] = boto3.session.Session(profile_name=profile)
    return session


def _options(value: Any) -> Any:
    """A botocore ``Config`` as the options it was given, for the key."""
    if isinstance(value, botocore.config.Config):
        return {"Config": value._user_provided_options}  # pylint: disable=protected-access
    return value


def _client_key(origin: str, service: str, region: str | None, endpoint: str | None, params: dict[str, Any]) -> tuple:
    profile = params.get("profile_name")
    settings = json.dumps(
        {name: _options(value) for name, value in params.items()}, sort_keys=True, default=repr
    ).encode()
    return (origin, _session_key(profile), service, region, endpoint, hashlib.sha256(settings).hexdigest())


def shared_client(key: tuple, build: Callable[[], Any]) -> Any:
    """The client kept under ``key``, built by ``build`` the first time (under the lock)."""
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = build()
        return client


def _config(params: dict[str, Any]) -> Any:
    config = botocore.config.Config(user_agent=USER_AGENT)
    for name in ("config", "aws_config"):
        extra = params.pop(name, None)
        if extra:
            extra = extra if isinstance(extra, botocore.config.Config) else botocore.config.Config(**extra)
            config = config.merge(extra)
    return config


def share_clients() -> None:
    """Route amazon.aws's ``boto3_conn`` clients through ``shared_client`` (once; later calls do nothing)."""
    with _LOCK:
        original = aws_botocore._boto3_conn  # pylint: disable=protected-access
        if getattr(original, "shared_by_mensetsu", False):
            return

        def _boto3_conn(
            conn_type: str,
            resource: str | None = None,
            region: str | None = None,
            endpoint: str | None = None,
            **params: Any,
        ) -> Any:
            if conn_type != "client" or any(os.environ.get(name) for name in PLACEBO_VARIABLES):
                return original(conn_type, resource=resource, region=region, endpoint=endpoint, **params)
            key = _client_key("amazon.aws", resource or "", region, endpoint, params)
            return shared_client(
                key, lambda: original(conn_type, resource=resource, region=region, endpoint=endpoint, **params)
            )

        _boto3_conn.shared_by_mensetsu = True
        aws_botocore._boto3_conn = _boto3_conn  # pylint: disable=protected-access


# The collections' modules, run later in this process, share the data and the clients too.
share_botocore_data()
share_clients()


class AWSModule(AnsibleAWSModule):
    """``AnsibleAWSModule`` whose ``client()`` returns this process's client for the task's settings."""

    def client(self, service: str, retry_decorator: Any = None, **extra_params: Any) -> Any:
        region, endpoint_url, connect_kwargs = get_aws_connection_info(self)
        params: dict[str, Any] = dict(region=region, endpoint=endpoint_url, **connect_kwargs)
        params.update(extra_params)
        region, endpoint = params.pop("region"), params.pop("endpoint")
        key = _client_key("mensetsu", service, region, endpoint, params)
        profile = params.pop("profile_name", None)

        def build() -> Any:
            config = _config(params)
            return shared_session(profile).client(
                service, config=config, region_name=region, endpoint_url=endpoint, **params
            )

        try:
            conn = shared_client(key, build)
        except botocore.exceptions.NoRegionError:
            self.fail_json(
                msg=f"The {self._name} module requires a region and none was found in configuration, "
                "environment variables or module parameters"
            )
        except (ValueError, botocore.exceptions.BotoCoreError) as e:
            self.fail_json_aws(e, msg="Couldn't connect to AWS")
        return conn if retry_decorator is None else RetryingBotoClientWrapper(conn, retry_decorator)
