"""Settings: secrets from systemd credentials ($CREDENTIALS_DIRECTORY), the rest from the environment.

The credentials are the Secrets Manager secrets under "<project>/<env>/" with the same names:
`db` and `redis` are JSON documents, the API keys are plain strings. Nothing secret is read
from the process environment, so nothing secret shows in /proc/<pid>/environ.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


def _credential(name: str) -> str | None:
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / name
    return path.read_text().strip() if path.is_file() else None


def _json_credential(name: str) -> dict | None:
    text = _credential(name)
    return json.loads(text) if text else None


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    openai_api_key: str | None
    environment: str

    @classmethod
    def load(cls) -> Settings:
        return cls(
            database_url=database_url(_json_credential("db")),
            redis_url=redis_url(_json_credential("redis")),
            openai_api_key=_credential("openai-api-key"),
            environment=os.environ.get("APP_ENVIRONMENT", "unknown"),
        )


def database_url(db: dict | None) -> str | None:
    """postgresql://user:password@host:port/dbname from the `db` secret."""
    if not db or not db.get("host"):
        return None
    user = quote(str(db.get("username", "")), safe="")
    password = quote(str(db.get("password", "")), safe="")
    return f"postgresql://{user}:{password}@{db['host']}:{db.get('port', 5432)}/{db.get('dbname', 'postgres')}"


def redis_url(redis: dict | None) -> str | None:
    """redis[s]://:token@host:port/0 from the `redis` secret."""
    if not redis or not redis.get("host"):
        return None
    scheme = "rediss" if redis.get("tls") else "redis"
    token = redis.get("auth_token") or ""
    auth = f":{quote(str(token), safe='')}@" if token else ""
    return f"{scheme}://{auth}{redis['host']}:{redis.get('port', 6379)}/0"
