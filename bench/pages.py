"""Server time of the everyday pages, on PostgreSQL + Redis (make bench) or the embedded default.

Prints the median and p95 over N requests through the WSGI app (no network, no browser), so the
figures are the app's own cost: queries, templates, session store.

    make bench            # or: .venv/bin/python bench/pages.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app
from core.db import db
from tests.web import csrf_token, post_form

REQUESTS = 300


def measure(label: str, call: Callable[[], object], count: int = REQUESTS) -> None:
    call()  # warm-up: templates compiled, connections open
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    report(label, timings)


def report(label: str, timings: list[float]) -> None:
    timings = sorted(timings)
    p95 = timings[max(int(len(timings) * 0.95) - 1, 0)]
    median = statistics.median(timings)
    print(f"{label:<28} n={len(timings):<4} median {median:7.2f} ms   p95 {p95:7.2f} ms")


def make_database() -> tuple[str | None, Callable[[], None]]:
    server = os.environ.get("TALONARIO_TEST_DATABASE_URL")
    if not server:
        return None, lambda: None
    url = sa.make_url(server)
    name = f"talonario_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    database_url, drop = make_database()
    redis_url = os.environ.get("TALONARIO_TEST_REDIS_URL") if database_url else None
    with tempfile.TemporaryDirectory() as instance:
        config = {
            "INSTANCE_PATH": instance,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"talonario-bench-{uuid.uuid4().hex[:6]}:",
            "SESSION_COOKIE_SECURE": False,
        }
        app = create_app(config)
        try:
            run(app)
        finally:
            with app.app_context():
                db.engine.dispose()
            drop()


def run(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        upgrade()
        cache = app.extensions["talonario.cache"].backend
        print(f"database: {db.engine.dialect.name}, cache: {cache}")
    client = app.test_client()
    signup = {
        "name": "Bench",
        "email": "bench@example.com",
        "password": "una-clave-larga",
        "cuit": "30-71234567-1",
        "legal_name": "Bench SRL",
        "iva_condition": "responsable_inscripto",
    }
    assert post_form(client, "/auth/signup", signup).status_code == 303
    measure("GET / (dashboard)", lambda: client.get("/"))
    measure("GET /organizations/members", lambda: client.get("/organizations/members"))
    measure("GET /healthz", lambda: client.get("/healthz"))
    measure_login(app, signup["email"], signup["password"])


def measure_login(app, email: str, password: str, count: int = 40) -> None:  # type: ignore[no-untyped-def]
    """Only the POST is timed: the password check (argon2id) dominates it, by design."""
    timings = []
    for _ in range(count):
        client = app.test_client()
        form = {"csrf_token": csrf_token(client), "email": email, "password": password}
        start = time.perf_counter()
        response = client.post("/auth/login", data=form)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 303, response.status_code
    report("POST /auth/login (argon2id)", timings)


if __name__ == "__main__":
    main()
