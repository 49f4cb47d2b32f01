"""``AWSModule``: amazon.aws's ``AnsibleAWSModule`` whose clients share one boto3 session per process.

``AnsibleAWSModule.client`` builds a new ``boto3.session.Session`` for every client, and a new session
loads botocore's endpoint rules and the service's model from their JSON files again: 40-130 ms of CPU
per client on this project's machine, where the AWS call itself takes 5 ms against the emulator
(docs/benchmarks.md). Under the mitogen strategy (ansible.cfg) every module of a run executes in the
same long-lived interpreter (plugins/strategy/mitogen_linear.py keeps mitogen from forking one per
module), so one session kept per process serves every later task: a client then
costs 1-3 ms. Under stock Ansible each module is a process of its own and nothing changes. Importing
this file also installs ``botocore_data.share_botocore_data``, so the collections' modules, which make
a session per client, read botocore's data files once per process too.

The session is keyed by the process id (a forked child never reuses its parent's connections), the
profile and every ``AWS_*`` environment variable, so a task with other credentials, another profile
or another endpoint in its environment gets a session of its own. Explicit credentials and the region
go to each client, as in ``AnsibleAWSModule.client``. botocore's sessions are not thread-safe, its
clients are: clients are created under a lock, then used from any thread.
"""

from __future__ import annotations

import os
import threading
from typing import Any

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:
    pass  # AnsibleAWSModule reports the missing SDK

from ansible.module_utils.ansible_release import __version__ as ansible_version
from ansible.module_utils.botocore_data import share_botocore_data
from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

USER_AGENT = f"APN/1.0 Ansible/{ansible_version} mensetsu"

_SESSIONS: dict[tuple, Any] = {}
_LOCK = threading.Lock()

# The sessions the collections' modules make per client read botocore's data files once per process.
share_botocore_data()


def _session_key(profile: str | None) -> tuple:
    return (os.getpid(), profile, tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))))


def shared_session(profile: str | None = None) -> Any:
    """This process's boto3 session for ``profile`` and the current ``AWS_*`` environment. Call with _LOCK held."""
    key = _session_key(profile)
    session = _SESSIONS.get(key)
    if session is None:
        session = _SESSIONS[key] = boto3.session.Session(profile_name=profile)
    return session


def _config(params: dict[str, Any]) -> Any:
    config = botocore.config.Config(user_agent=USER_AGENT)
    for name in ("config", "aws_config"):
        extra = params.pop(name, None)
        if extra:
            extra = extra if isinstance(extra, botocore.config.Config) else botocore.config.Config(**extra)
            config = config.merge(extra)
    return config


class AWSModule(AnsibleAWSModule):
    """``AnsibleAWSModule`` whose ``client()`` takes its session from ``shared_session``."""

    def client(self, service: str, retry_decorator: Any = None, **extra_params: Any) -> Any:
        region, endpoint_url, connect_kwargs = get_aws_connection_info(self)
        params: dict[str, Any] = dict(region=region, endpoint=endpoint_url, **connect_kwargs)
        params.update(extra_params)
        region, endpoint = params.pop("region"), params.pop("endpoint")
        profile = params.pop("profile_name", None)
        config = _config(params)
        try:
            with _LOCK:
                conn = shared_session(profile).client(
                    service, config=config, region_name=region, endpoint_url=endpoint, **params
                )
        except botocore.exceptions.NoRegionError:
            self.fail_json(
                msg=f"The {self._name} module requires a region and none was found in configuration, "
                "environment variables or module parameters"
            )
        except (ValueError, botocore.exceptions.BotoCoreError) as e:
            self.fail_json_aws(e, msg="Couldn't connect to AWS")
        return conn if retry_decorator is None else RetryingBotoClientWrapper(conn, retry_decorator)
