"""Direct database access for tests that must step around the app: as the tables' owner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from core.db import db


@contextmanager
def owner_connection() -> Iterator[Connection]:
    """One committed transaction as the tables' owner (schema switches, tampering on purpose):
    no row-security scope applies (core/rowsecurity.py)."""
    owner = db.engine.connect().execution_options(talonario_owner=True)
    with owner as connection, connection.begin():
        yield connection
