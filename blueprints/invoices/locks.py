"""One authorization at a time per numbering sequence (organization, point of sale, type).

ARCA numbers each sequence itself (the next number must be last authorized + 1, 10016), so two
processes reserving numbers in the same sequence would collide. PostgreSQL: a session-level
advisory lock on a dedicated autocommit connection (no transaction stays open while ARCA is
called; the server releases it if the process dies). SQLite (the embedded default, one host):
an `flock` per sequence in the instance folder.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from arca.tickets import exclusive_file_lock
from core.db import db
from core.errors import Conflict

WAIT_SECONDS = 60.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Sequence:
    organization_id: int
    point_of_sale: int
    invoice_type: int

    def lock_ids(self) -> tuple[int, int]:
        """Two signed 32-bit ints for pg_advisory_lock(int, int): the slice and the sequence."""
        digest = hashlib.sha256(str(self).encode()).digest()
        return 0x7A1C, int.from_bytes(digest[:4], "big", signed=True)

    def __str__(self) -> str:
        return f"{self.organization_id}-{self.point_of_sale}-{self.invoice_type}"


class SequenceBusy(Conflict):
    """Another authorization of the same sequence held the lock for too long."""


@contextlib.contextmanager
def sequence_lock(sequence: Sequence, wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the sequence's lock; raises `SequenceBusy` after `wait` seconds."""
    if db.engine.dialect.name == "postgresql":
        with _advisory_lock(sequence, wait):
            yield
    else:
        with _file_lock(sequence, wait):
            yield


@contextlib.contextmanager
def _advisory_lock(sequence: Sequence, wait: float) -> Iterator[None]:
    # A blocking pg_advisory_lock queues the waiters (a polling try-lock made 4 processes on one
    # sequence slower than 1); lock_timeout bounds the wait.
    first, second = sequence.lock_ids()
    ids = {"a": first, "b": second}
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # Free (the common case, e.g. a bulk job's next batch): one statement, not four.
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:a, :b)"), ids):
            _wait_for_lock(connection, ids, wait)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), ids)


def _wait_for_lock(connection: Connection, ids: dict[str, int], wait: float) -> None:
    connection.execute(text(f"SET lock_timeout = '{int(wait * 1000)}ms'"))
    try:
        connection.execute(text("SELECT pg_advisory_lock(:a, :b)"), ids)
    except OperationalError as error:
        raise _busy() from error
    finally:
        connection.execute(text("RESET lock_timeout"))


@contextlib.contextmanager
def _file_lock(sequence: Sequence, wait: float) -> Iterator[None]:
    folder = Path(current_app.instance_path) / "locks"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with exclusive_file_lock(folder / f"invoices-{sequence}.lock", wait, _busy(), POLL_SECONDS):
        yield


def _busy() -> SequenceBusy:
    return SequenceBusy(
        _("Otro comprobante del mismo punto de venta y tipo se está autorizando; probá en un rato.")
    )
