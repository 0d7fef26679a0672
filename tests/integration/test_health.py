"""`/healthz` (liveness: the process answers, nothing else asked) and `/readyz` (readiness: the
database, Redis, the schema at the migrations' head, the encryption keys), on real PostgreSQL and
Redis and on unreachable ones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import text

from tests.conftest import temporary_app
from tests.database import owner_connection

NO_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/nada"
NO_REDIS = "redis://127.0.0.1:1/0"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def test_liveness_answers_without_asking_anything(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_liveness_stays_200_with_the_database_and_redis_down(tmp_path: Path) -> None:
    """A database outage must not make the orchestrator restart every web process."""
    with temporary_app(NO_DATABASE, NO_REDIS, tmp_path) as app:
        response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_ready_when_everything_answers(app: Flask) -> None:
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    body = dict(response.json)
    scheduler = body.pop("scheduler")  # informative only; no job's note or error in public
    assert scheduler and all(
        set(job) == {"name", "state", "overdue", "last_finished_at"} for job in scheduler
    ), scheduler
    assert body == {
        "status": "ok",
        "database": {"ok": True, "dialect": "postgresql"},
        "cache": {"ok": True, "backend": "redis"},
        "migrations": {"ok": True},
        "keys": {"ok": True},
        "failed": [],
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_not_ready_when_redis_is_down(
    migrated_app: Flask, database_url: str, tmp_path: Path
) -> None:
    with temporary_app(database_url, NO_REDIS, tmp_path) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["failed"] == ["cache"]
    assert response.json["cache"] == {"ok": False, "backend": "redis", "error": "ConnectionError"}


def test_not_ready_when_the_database_is_down(redis_url: str, tmp_path: Path) -> None:
    with temporary_app(NO_DATABASE, redis_url, tmp_path) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["failed"] == ["database", "migrations", "keys"]
    assert response.json["cache"]["ok"] is True


def test_not_ready_until_the_migrations_reach_head(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A schema one migration behind (a deploy whose `flask db upgrade` did not run): 503 with
    both revisions. The positive answer is kept per process: an app that saw head keeps it."""
    head = ScriptDirectory(str(MIGRATIONS)).get_revision("head")
    assert head is not None and isinstance(head.down_revision, str)
    client = app.test_client()
    assert client.get("/readyz").json["migrations"] == {"ok": True}
    with one_revision_behind(app, head.revision, head.down_revision):
        assert client.get("/readyz").status_code == 200  # cached: no alembic read per probe
        with temporary_app(database_url, redis_url, tmp_path) as fresh:
            response = fresh.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["migrations"]
    assert response.json["migrations"] == {
        "ok": False,
        "current": [head.down_revision],
        "head": [head.revision],
    }


@contextmanager
def one_revision_behind(app: Flask, head: str, previous: str) -> Iterator[None]:
    """alembic_version says `previous` (the schema itself is left alone), then `head` again."""
    set_version = text("UPDATE alembic_version SET version_num = :version")
    with app.app_context(), owner_connection() as connection:
        connection.execute(set_version, {"version": previous})
    try:
        yield
    finally:
        with app.app_context(), owner_connection() as connection:
            connection.execute(set_version, {"version": head})
