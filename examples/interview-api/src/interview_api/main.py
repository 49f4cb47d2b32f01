"""The API: liveness, readiness against PostgreSQL and Redis, and one endpoint that keeps a row."""

from __future__ import annotations

import psycopg
import redis
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from . import __version__
from .settings import Settings

settings = Settings.load()
app = FastAPI(title="interview-api", version=__version__)

CHECK_TIMEOUT_S = 2


class PracticeSessionIn(BaseModel):
    candidate: str = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1, max_length=2000)


class PracticeSession(PracticeSessionIn):
    id: int


@app.get("/health")
def health() -> dict[str, str]:
    """The process is alive (what the ALB and the deploy gate ask)."""
    return {"status": "ok", "version": __version__}


def _check_database() -> str:
    if not settings.database_url:
        return "not configured"
    try:
        with psycopg.connect(settings.database_url, connect_timeout=CHECK_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
        return "ok"
    except psycopg.Error as error:
        return f"error: {type(error).__name__}"


def _check_redis() -> str:
    if not settings.redis_url:
        return "not configured"
    try:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S
        )
        client.ping()
        return "ok"
    except redis.RedisError as error:
        return f"error: {type(error).__name__}"


@app.get("/health/ready")
def ready() -> JSONResponse:
    """PostgreSQL and Redis answer with the configured credentials; 503 otherwise."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse(status_code=200 if healthy else 503, content={"ready": healthy, "checks": checks})


def _connect() -> psycopg.Connection:
    if not settings.database_url:
        raise HTTPException(status_code=503, detail="database not configured")
    try:
        conn = psycopg.connect(settings.database_url, connect_timeout=CHECK_TIMEOUT_S)
    except psycopg.Error as error:
        raise HTTPException(status_code=503, detail="database unavailable") from error
    conn.execute(
        "CREATE TABLE IF NOT EXISTS practice_sessions ("
        " id BIGSERIAL PRIMARY KEY, candidate TEXT NOT NULL, question TEXT NOT NULL,"
        " created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    return conn


@app.post("/api/practice-sessions", status_code=201)
def create_practice_session(body: PracticeSessionIn) -> PracticeSession:
    """Write a row, then read it back from the database."""
    with _connect() as conn:
        row = conn.execute(
            "INSERT INTO practice_sessions (candidate, question) VALUES (%s, %s) RETURNING id",
            (body.candidate, body.question),
        ).fetchone()
        return _read(conn, row[0])


@app.get("/api/practice-sessions/{session_id}")
def get_practice_session(session_id: int) -> PracticeSession:
    with _connect() as conn:
        return _read(conn, session_id)


def _read(conn: psycopg.Connection, session_id: int) -> PracticeSession:
    row = conn.execute("SELECT id, candidate, question FROM practice_sessions WHERE id = %s", (session_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such practice session")
    return PracticeSession(id=row[0], candidate=row[1], question=row[2])
