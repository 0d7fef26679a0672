from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import TimestampMixin, db, utcnow

ANONYMOUS_DOC_TYPE = 99  # "Doc. (Otro)" with number 0: any number of anonymous consumers
# Unique documents are those of customers here: a customer abroad's document is its country's
# CUIT ("ESTADOS UNIDOS - Persona Jurídica"), the same for every company of that country, so
# they are unique by country and tax id instead (`rules.CustomerData.foreign_key`).
UNIQUE_DOCUMENTS = f"doc_type <> {ANONYMOUS_DOC_TYPE} AND country IS NULL"


class Customer(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """Someone the organization invoices. One per (document type, number), but anonymous ones
    and customers abroad.

    `search_text` and `sort_name` are derived (`rules.build_search_text`, `rules.fold`) and kept
    by the services; `emails` is a comma-separated list.
    """

    __tablename__ = "customers"
    __table_args__ = (
        Index(
            "uq_customers_document",
            "organization_id",
            "doc_type",
            "doc_number",
            unique=True,
            postgresql_where=text(UNIQUE_DOCUMENTS),
            sqlite_where=text(UNIQUE_DOCUMENTS),
        ),
        # The list's default order and its keyset pagination.
        Index("ix_customers_organization_id_sort_name", "organization_id", "sort_name", "id"),
        Index("ix_customers_organization_id_doc_number", "organization_id", "doc_number", "id"),
        Index("ix_customers_organization_id_created_at", "organization_id", "created_at", "id"),
        # Active search: `search_text LIKE '%term%'` is answered by a trigram index (pg_trgm).
        Index(
            "ix_customers_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    doc_type: Mapped[int]
    doc_number: Mapped[str] = mapped_column(String(20))
    legal_name: Mapped[str] = mapped_column(String(200))
    iva_condition: Mapped[int]
    emails: Mapped[str] = mapped_column(String(600), default="")
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(50))
    notes: Mapped[str | None] = mapped_column(Text)
    payment_terms_days: Mapped[int | None]
    # A customer abroad (migration 0019): its country (WSFEX's FEXGetPARAM_DST_pais code)
    # makes its vouchers Factura E; `foreign_tax_id` is its tax id there (Id_impositivo).
    country: Mapped[int | None]
    foreign_tax_id: Mapped[str | None] = mapped_column(String(30))
    archived_at: Mapped[dt.datetime | None]
    # A data-subject erasure: the fields that are on no fiscal document were wiped then.
    erased_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sort_name: Mapped[str] = mapped_column(String(200))
    search_text: Mapped[str] = mapped_column(Text)

    @property
    def email_list(self) -> list[str]:
        return [email for email in self.emails.split(",") if email]

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class ImportStatus(StrEnum):
    PREVIEWED = "previewed"  # parsed and checked, waiting for the user's confirmation
    QUEUED = "queued"  # confirmed, waiting for a worker
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class CustomerImport(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """An uploaded CSV between its preview and its import, then the record of what it did.

    `content` is the decoded file: the import parses it again when confirmed, so what is
    imported is exactly what was previewed.
    """

    __tablename__ = "customer_imports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('previewed', 'queued', 'running', 'done', 'failed')", name="status"
        ),
        CheckConstraint("mode IS NULL OR mode IN ('skip', 'update')", name="mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text, deferred=True)
    status: Mapped[ImportStatus] = mapped_column(String(16))
    mode: Mapped[str | None] = mapped_column(String(8))
    total_rows: Mapped[int]
    valid_rows: Mapped[int]
    new_rows: Mapped[int]
    existing_rows: Mapped[int]
    # [{"row": 7, "column": "numero_documento", "reason": "…"}], in row order.
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None]

    @property
    def bad_rows(self) -> int:
        return len({problem["row"] for problem in self.problems})

    @property
    def in_progress(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
