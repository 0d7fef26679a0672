"""Shared test configuration. Tiers: unit (pure), integration (PostgreSQL + Redis), browser."""

from __future__ import annotations

import base64
import logging
import os
import re
import socketserver
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_migrate import upgrade
from rq import Queue

from app import create_app
from arca.sandbox import Sandbox
from arca.sandbox.server import make_sandbox_server
from core.db import db

TEST_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"t" * 32).decode()
DEFAULT_TEST_DATABASE_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_TEST_REDIS = "redis://127.0.0.1:6379/0"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile stale catalogs, so `pytest` alone behaves like `make test` (which compiles too)."""
    for po_path in Path(__file__).resolve().parents[1].glob("translations/*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalog = read_po(source)
        with mo_path.open("wb") as target:
            write_mo(target, catalog)


def base_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "CACHE_KEY_PREFIX": f"talonario-test-{uuid.uuid4().hex[:8]}:",
        # The in-process sandbox answers or drops at once: a lost answer is final immediately.
        # (The timeout test over HTTP sets a real grace period.)
        "ARCA_UNKNOWN_GRACE_SECONDS": 0,
    }
    config.update(overrides)
    return config


# Issue #15: no password hash, PEM block, API key or webhook secret in any log record of the run.
_LOG_LEAKS = re.compile(r"\$argon2|-----BEGIN|\btal_[A-Za-z0-9_-]{20}|\bwhsec_[A-Za-z0-9+/=]{10}")


class _LeakWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if _LOG_LEAKS.search(record.getMessage() + (record.exc_text or "")):
            self.leaks.append(f"{record.name} {record.pathname}:{record.lineno}")


@pytest.fixture(scope="session", autouse=True)
def no_secrets_in_the_logs() -> Iterator[None]:
    """Every log record of the whole run is read: none may carry a secret."""
    watch = _LeakWatch()
    logging.getLogger().addHandler(watch)
    yield
    logging.getLogger().removeHandler(watch)
    assert not watch.leaks, "secrets in the logs at: " + ", ".join(watch.leaks[:20])


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for this run, dropped at the end.

    TALONARIO_TEST_DATABASE_URL names a server (any database on it we may connect to);
    `make test` sets it, else the local server on 127.0.0.1:5432 is used. No PostgreSQL is an
    error, never a skip: the integration tier exists to run against the real thing.
    """
    server = os.environ.get("TALONARIO_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_SERVER)
    with new_database(server, "talonario_test") as url:
        yield url


@contextmanager
def new_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on `server_url`'s server (its URL), dropped after with whatever
    is still connected to it."""
    server = sa.make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def serving(server: socketserver.BaseServer, name: str = "test-server") -> Iterator[str]:
    """`server` (bound to a port of 127.0.0.1, not started) answering in a thread for the
    block: its base URL. Stopped and closed after."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def served_sandbox(sandbox: Sandbox) -> AbstractContextManager[str]:
    """`sandbox` served by the standalone threaded server on a free port: its base URL."""
    return serving(make_sandbox_server(sandbox, "127.0.0.1", 0), "sandbox")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("TALONARIO_TEST_REDIS_URL", DEFAULT_TEST_REDIS)


@pytest.fixture(scope="session")
def migrated_app(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """One app over the test database, migrated once: the schema only comes from migrations."""
    app = make_app(database_url, redis_url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
    yield app
    close_connections(app)


@contextmanager
def temporary_app(
    database_url: str, redis_url: str | None, instance: Any, **overrides: Any
) -> Iterator[Flask]:
    """An app with its own configuration for one test; its connections are closed after."""
    app = make_app(database_url, redis_url, instance, **overrides)
    try:
        yield app
    finally:
        close_connections(app)


def close_connections(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()
    client = getattr(app.extensions["talonario.cache"], "client", None)
    if client is not None:
        client.close()
    session_redis = app.config.get("SESSION_REDIS")
    if session_redis is not None:
        session_redis.close()


def make_app(database_url: str, redis_url: str | None, instance: Any, **overrides: Any) -> Flask:
    config = base_config(
        DATABASE_URL=database_url, REDIS_URL=redis_url, INSTANCE_PATH=str(instance), **overrides
    )
    return create_app(config)


@pytest.fixture
def app(migrated_app: Flask, redis_url: str) -> Iterator[Flask]:
    """The migrated app, with every table and this run's Redis keys emptied after each test."""
    yield migrated_app
    wipe(migrated_app, redis_url)


def wipe(app: Flask, redis_url: str) -> None:
    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        # As the tables' owner: restarting their sequences is the owner's to do.
        owner = db.engine.connect().execution_options(talonario_owner=True)
        with owner as connection, connection.begin():
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=app.config["CACHE_KEY_PREFIX"] + "*", count=500))
    if keys:
        client.delete(*keys)
    # RQ names its keys "rq:…": a job a test queued and never ran (an API call answered 202, no
    # worker) would otherwise run in the next test's worker, on that test's rows.
    Queue(app.config["CACHE_KEY_PREFIX"] + "jobs", connection=client).empty()
    client.close()
