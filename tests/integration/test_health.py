from __future__ import annotations

from pathlib import Path

from flask import Flask

from tests.conftest import temporary_app


def test_healthy_when_database_and_cache_answer(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": {"ok": True, "dialect": "postgresql"},
        "cache": {"ok": True, "backend": "redis"},
        "keys": {"ok": True},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_unavailable_when_redis_is_down(database_url: str, tmp_path: Path) -> None:
    with temporary_app(database_url, "redis://127.0.0.1:1/0", tmp_path) as app:
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["database"]["ok"] is True
    assert response.json["cache"] == {"ok": False, "backend": "redis", "error": "ConnectionError"}


def test_unavailable_when_the_database_is_down(redis_url: str, tmp_path: Path) -> None:
    with temporary_app(
        "postgresql+psycopg://postgres@127.0.0.1:1/nada", redis_url, tmp_path
    ) as app:
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"]["ok"] is False
    assert response.json["cache"]["ok"] is True
