from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import TimestampMixin, db


class ExportStatus(StrEnum):
    QUEUED = "queued"  # recorded, waiting for a worker
    RUNNING = "running"
    DONE = "done"  # `content` holds the whole file
    FAILED = "failed"  # `error` says why; no file


class Export(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """One requested export and, once built, its file.

    The file is stored in the row (`content`) and written in the same commit that marks it
    `done`: any web process serves it, and a half-built file is never visible. Rows are
    deleted once past `expires_at` (`services.purge_expired`).
    """

    __tablename__ = "exports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        Index("ix_exports_organization_id_created_at", "organization_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    # What to export, as the request gave it (filters, the month): plain strings.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[ExportStatus] = mapped_column(String(16), default=ExportStatus.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    filename: Mapped[str | None] = mapped_column(String(200))
    mimetype: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None]
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime]

    @property
    def in_progress(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return round(100 * self.progress / self.total) if self.total else 0
