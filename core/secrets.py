"""The columns that hold `core.crypto` tokens, and re-encrypting them under the primary key.

Each slice declares its secret columns in its `secrets.py` (`SecretColumn`: the model, the
attribute, how a row's associated data is built). `rotate_secrets` walks them after a new key was
put first in `TALONARIO_ENCRYPTION_KEYS`; once it has run, the old keys can be removed.

Rotation is the only code besides a secret's own reader that opens it: re-encryption cannot be
done without the plaintext. The plaintext goes from `decrypt` straight into `encrypt` and is
never logged, printed or returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import undefer

from core.cache import Cache
from core.crypto import DecryptionError, KeyRing
from core.db import DbSession

ROTATE_ACTION = "keys.rotate"

# organization id -> secret column name ("certificates.private_key") -> tokens re-encrypted
RotationCounts = dict[int, dict[str, int]]


ACCOUNTS = 0  # the "organization" of secrets that belong to a person (a TOTP secret): no audit


@dataclass(frozen=True)
class SecretColumn:
    """A column of `core.crypto` tokens.

    `aad` rebuilds the associated data the row's token was sealed with. `cache_key`, if the
    slice keeps a copy of the token in the cache, names that copy (None: this row has none).
    `organization` tells whose it is, for the audit event (default: the row's
    `organization_id`; a person's secret answers ACCOUNTS).
    """

    model: type[Any]
    attribute: str
    aad: Callable[[Any], bytes]
    cache_key: Callable[[Any], str | None] | None = None
    organization: Callable[[Any], int] | None = None

    @property
    def name(self) -> str:
        return f"{self.model.__tablename__}.{self.attribute}"

    def owner(self, row: Any) -> int:
        return self.organization(row) if self.organization else int(row.organization_id)


class EventRecorder(Protocol):
    """`blueprints.audit.services.record_event`'s shape (core does not import blueprints)."""

    def __call__(
        self,
        session: DbSession,
        organization_id: int,
        action: str,
        actor: None,
        subject: tuple[str, int] | None = None,
        details: dict[str, Any] | None = None,
    ) -> object: ...


class RotationFailed(Exception):
    """A token that no configured key opens; nothing was changed."""


def rotate_secrets(
    session: DbSession,
    keyring: KeyRing,
    columns: Sequence[SecretColumn],
    record_event: EventRecorder,
    cache: Cache | None = None,
) -> RotationCounts:
    """Re-encrypt under `keyring`'s primary key every token sealed with another key.

    Same associated data, one transaction, one `keys.rotate` audit event per affected
    organization (the counts and the new key's id, never key material). Rows are read FOR UPDATE
    (PostgreSQL), so a ticket saved concurrently is either seen here or written after, never
    overwritten by an older one. Raises `RotationFailed` (and changes nothing) when a token is
    sealed with a key no longer configured. After the commit, cached copies of re-encrypted
    tokens are deleted: sealed with the old key, they would stop opening once it is removed.
    """
    counts: RotationCounts = {}
    stale: list[str] = []
    try:
        for column in columns:
            for row in _rows(session, column):
                if not _reseal(keyring, column, row):
                    continue
                per_column = counts.setdefault(column.owner(row), {})
                per_column[column.name] = per_column.get(column.name, 0) + 1
                if column.cache_key is not None and (key := column.cache_key(row)):
                    stale.append(key)
        for organization_id, per_column in sorted(counts.items()):
            if organization_id == ACCOUNTS:
                continue
            details = {"reencrypted": per_column, "key_id": keyring.primary_id}
            record_event(session, organization_id, ROTATE_ACTION, None, details=details)
        session.commit()
    except Exception:
        session.rollback()
        raise
    if cache is not None:
        for key in stale:
            cache.delete(key)
    return counts


def column_totals(counts: RotationCounts) -> dict[str, int]:
    """Tokens re-encrypted per column, over every organization."""
    totals: dict[str, int] = {}
    for per_column in counts.values():
        for name, count in per_column.items():
            totals[name] = totals.get(name, 0) + count
    return totals


def _rows(session: DbSession, column: SecretColumn) -> Iterable[Any]:
    attribute = getattr(column.model, column.attribute)
    query = (
        select(column.model).options(undefer(attribute)).order_by(column.model.id).with_for_update()
    )
    return session.scalars(query)


def _reseal(keyring: KeyRing, column: SecretColumn, row: Any) -> bool:
    """Seal the row's token again under the primary key; False when it already is."""
    token = getattr(row, column.attribute)
    try:
        if token is None or not keyring.needs_rotation(token):
            return False
        aad = column.aad(row)
        # Re-encryption needs the plaintext: it goes straight back into encrypt.
        setattr(row, column.attribute, keyring.encrypt(keyring.decrypt(token, aad), aad))
    except DecryptionError as error:
        raise RotationFailed(
            f"{column.name} of row {row.id}: {error}. Nothing was changed: keep the old key in "
            "TALONARIO_ENCRYPTION_KEYS (after the new one) until the rotation has run."
        ) from error
    return True
