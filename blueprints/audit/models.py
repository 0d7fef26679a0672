from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import TimestampMixin, db


class AuditEvent(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """Who did what to which object, when: append-only, written in the same commit as the work.

    Entries are hash-chained per organization (blueprints/audit/chain.py): `seq` counts from 1,
    `hash` commits to the entry's content and to `prev_hash`, the previous entry's hash. On
    PostgreSQL a trigger refuses UPDATE and DELETE (migration 0016).
    """

    __tablename__ = "audit_events"
    # The audit log is read per organization, newest first.
    __table_args__ = (
        Index("ix_audit_events_organization_id_created_at", "organization_id", "created_at"),
        UniqueConstraint("organization_id", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept as text so the row still says who it was after the user is deleted ("cli" for commands).
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where the action came from (a request's client address and browser), None for commands.
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):  # type: ignore[name-defined]
    """Each organization's last entry, moved in the same commit as every append: deleting the
    newest entries leaves the chain consistent but short of its head. Its row lock also
    serializes appends per organization."""

    __tablename__ = "audit_heads"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(db.Model):  # type: ignore[name-defined]
    """Where an organization's online chain starts after retention archived its oldest entries:
    the last archived entry's `seq` and `hash` (the next online entry's `prev_hash`)."""

    __tablename__ = "audit_anchors"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    archived_at: Mapped[dt.datetime]
    # The archive file that holds the removed entries (relative to TALONARIO_ARCHIVE_PATH).
    location: Mapped[str] = mapped_column(String(500))
