"""What the PostgreSQL benchmarks share: a throwaway database and the Redis to use.

Not a benchmark itself (`make bench` skips files starting with "_").
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from flask import Flask

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = ("127.0.0.1", 6379)


def make_database() -> tuple[str, Callable[[], None]]:
    """A new database on TALONARIO_TEST_DATABASE_URL's server (else the local one), and the
    function that drops it."""
    url = sa.make_url(os.environ.get("TALONARIO_TEST_DATABASE_URL") or DEFAULT_DATABASE_URL)
    name = f"talonario_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def redis_url() -> str | None:
    """The test Redis, or a local one on the default port, or none (the in-process cache)."""
    if os.environ.get("TALONARIO_TEST_REDIS_URL"):
        return os.environ["TALONARIO_TEST_REDIS_URL"]
    try:
        socket.create_connection(DEFAULT_REDIS, timeout=0.5).close()
    except OSError:
        return None
    return "redis://{}:{}/0".format(*DEFAULT_REDIS)


@contextlib.contextmanager
def bench_app() -> Iterator[Flask]:
    """The app over a throwaway database (and Redis when there is one), dropped after."""
    from app import create_app  # the caller has put the project on sys.path
    from core.db import db

    database_url, drop = make_database()
    with tempfile.TemporaryDirectory() as instance:
        config = {
            "INSTANCE_PATH": instance,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url(),
            "CACHE_KEY_PREFIX": f"talonario-bench-{uuid.uuid4().hex[:6]}:",
            "SESSION_COOKIE_SECURE": False,
        }
        app = create_app(config)
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()
            drop()
