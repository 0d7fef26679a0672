"""The integration tier really runs on PostgreSQL and Redis, with the schema from migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask, session

from core.cache import get_cache
from core.db import db


def test_database_is_postgresql(app: Flask) -> None:
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.session.execute(db.text("SELECT version()")).scalar_one().startswith("PostgreSQL")


def test_cache_and_sessions_are_redis_and_it_answers(app: Flask) -> None:
    with app.app_context():
        cache = get_cache()
        assert cache.backend == "redis"
        assert cache.ping() is True
        cache.set("test:probe", b"42", ttl=30)
        assert cache.get("test:probe") == b"42"
        assert type(app.session_interface).__name__ == "RedisSessionInterface"
    with app.test_request_context():
        session["x"] = 1  # the interface is Flask-Session's, backed by that Redis


def test_migrations_match_the_models(app: Flask) -> None:
    """No model change is left without its migration."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_every_organization_owned_table_is_scoped_and_indexed(app: Flask) -> None:
    for table in db.metadata.sorted_tables:
        column = table.columns.get("organization_id")
        if table.name == "organizations" or column is None:
            continue
        assert not column.nullable, table.name
        leading = [index.columns.keys()[0] for index in table.indexes]
        leading.append(table.primary_key.columns.keys()[0])  # one row per organization
        assert "organization_id" in leading, f"{table.name}.organization_id has no index"
