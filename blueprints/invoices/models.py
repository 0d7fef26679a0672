from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from arca.fce import FCE_TYPES
from core.db import TimestampMixin, db, utcnow

MONEY = Numeric(15, 2)
EXPORT_TYPES = frozenset({19, 20, 21})  # Factura E, its debit and credit notes (WSFEXv1)
TOTALS_COLUMNS = ["status", "kind", "currency_rate", "net", "vat_total"]
# The text search folds accents as `customers.rules.fold` does, for the letters Spanish uses.
FOLD_FROM = "áàâäãéèêëíìîïóòôöõúùûüñç"
FOLD_TO = "aaaaaeeeeiiiiooooouuuunc"
# Its index's expression, PostgreSQL only (migration 0008), parenthesized as PostgreSQL
# reflects it so that the migrations-match-models check can compare it.
RECEIVER_SEARCH = (
    f"translate(lower((receiver_name || ' ') || receiver_doc_number), '{FOLD_FROM}', '{FOLD_TO}')"
)


# A, B, C, A con leyenda, FCE MiPyME A/B/C (201…) and export E (19…), per kind (migrations 0007
# and 0019; triggers on SQLite).
TYPE_MATCHES_KIND = (
    "(kind = 'invoice' AND invoice_type IN (1, 6, 11, 51, 201, 206, 211, 19))"
    " OR (kind = 'debit_note' AND invoice_type IN (2, 7, 12, 52, 202, 207, 212, 20))"
    " OR (kind = 'credit_note' AND invoice_type IN (3, 8, 13, 53, 203, 208, 213, 21))"
)


class InvoiceStatus(StrEnum):
    DRAFT = "draft"  # editable; also where a rejected or safely-retryable invoice returns
    AUTHORIZING = "authorizing"  # number reserved, FECAESolicitar under way
    AUTHORIZED = "authorized"  # CAE granted: immutable, never deleted
    REJECTED = "rejected"  # ARCA said no; editable again, ARCA's reasons kept
    UNKNOWN = "unknown"  # the call may have reached ARCA: resolved by FECompConsultar


EDITABLE = (InvoiceStatus.DRAFT, InvoiceStatus.REJECTED)


class AuthorizationMode(StrEnum):
    CAE = "CAE"  # FECAESolicitar: ARCA authorized it before it was issued
    CAEA = "CAEA"  # contingency (RG 5782): issued with the fortnight's CAEA, informed later


def authorization_key(invoice_id: int) -> str:
    """The key of an invoice's authorization request (`core.tasks`): one open at a time."""
    return f"invoice:{invoice_id}:authorize"


class Invoice(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A voucher (invoice, credit or debit note) from draft to CAE.

    Money in ARCA's terms with 2 decimals. The receiver fields are a snapshot of the customer,
    refreshed until authorization and frozen after it. Once `authorized`, the database refuses
    any change to the row and its lines (triggers in migration 0004), and any delete.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'authorizing', 'authorized', 'rejected', 'unknown')",
            name="status",
        ),
        CheckConstraint("concept IN (1, 2, 3)", name="concept"),
        # A note keeps its original and its kind's type codes (migration 0007; triggers on
        # SQLite), whatever a form posts.
        CheckConstraint(
            "kind = 'invoice' OR associated_invoice_id IS NOT NULL", name="note_has_original"
        ),
        CheckConstraint(TYPE_MATCHES_KIND, name="type_matches_kind"),
        CheckConstraint(
            "status <> 'authorized' OR (number IS NOT NULL AND cae IS NOT NULL)",
            name="authorized_has_cae",
        ),
        # A contingency voucher carries the moment it was generated (CbteFchHsGen, migration
        # 0018; triggers on SQLite).
        CheckConstraint("authorization_mode IN ('CAE', 'CAEA')", name="authorization_mode"),
        CheckConstraint(
            "authorization_mode = 'CAE' OR generated_at IS NOT NULL", name="caea_has_generated_at"
        ),
        # A number is used once per sequence, whatever state holds it.
        Index(
            "uq_invoices_number",
            "organization_id",
            "point_of_sale_number",
            "invoice_type",
            "number",
            unique=True,
            postgresql_where=text("number IS NOT NULL"),
            sqlite_where=text("number IS NOT NULL"),
        ),
        Index("ix_invoices_organization_id_issue_date", "organization_id", "issue_date", "id"),
        # The list's filters at a million invoices: status (by date), a customer, an amount.
        # INCLUDE makes the filter's totals an index-only scan on PostgreSQL.
        Index(
            "ix_invoices_organization_id_status_issue_date",
            "organization_id",
            "status",
            "issue_date",
            "id",
        ),
        Index(
            "ix_invoices_organization_id_customer_id_issue_date",
            "organization_id",
            "customer_id",
            "issue_date",
            "id",
            postgresql_include=[*TOTALS_COLUMNS, "total"],
        ),
        Index(
            "ix_invoices_organization_id_total",
            "organization_id",
            "total",
            postgresql_include=TOTALS_COLUMNS,
        ),
        # The list's text search (migration 0008): a voucher number, and a trigram index over
        # the receiver's name and document, folded as `listing.search_expression` reads them.
        Index("ix_invoices_organization_id_number", "organization_id", "number"),
        Index(
            "ix_invoices_receiver_search_trgm",
            literal_column(RECEIVER_SEARCH).label("receiver_search"),
            postgresql_using="gin",
            postgresql_ops={"receiver_search": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    point_of_sale_id: Mapped[int] = mapped_column(ForeignKey("points_of_sale.id"))
    point_of_sale_number: Mapped[int]
    invoice_type: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # arca.codes.VoucherKind
    letter: Mapped[str] = mapped_column(String(4))
    concept: Mapped[int] = mapped_column(default=1)
    status: Mapped[InvoiceStatus] = mapped_column(String(16), default=InvoiceStatus.DRAFT)

    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    receiver_name: Mapped[str] = mapped_column(String(200))
    receiver_doc_type: Mapped[int]
    receiver_doc_number: Mapped[str] = mapped_column(String(20))
    receiver_condition: Mapped[int]
    receiver_address: Mapped[str | None] = mapped_column(String(300))

    issue_date: Mapped[dt.date]
    service_from: Mapped[dt.date | None]
    service_to: Mapped[dt.date | None]
    payment_due: Mapped[dt.date | None]
    currency: Mapped[str] = mapped_column(String(3), default="PES")
    currency_rate: Mapped[Decimal] = mapped_column(Numeric(18, 6), default=Decimal("1"))
    same_currency_payment: Mapped[bool] = mapped_column(default=False)
    prices_include_vat: Mapped[bool] = mapped_column(default=False)

    untaxed: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    net: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    exempt: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    vat_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    other_taxes_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))

    associated_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    number: Mapped[int | None]
    # The CAE, or for a contingency voucher (`authorization_mode` CAEA) the fortnight's CAEA
    # and its last valid day: both are the "código de autorización" ARCA stores and prints.
    cae: Mapped[str | None] = mapped_column(String(14))
    cae_due: Mapped[dt.date | None]
    authorized_at: Mapped[dt.datetime | None]
    authorization_mode: Mapped[str] = mapped_column(
        String(4), default=AuthorizationMode.CAE, server_default=AuthorizationMode.CAE.value
    )
    generated_at: Mapped[dt.datetime | None]  # CbteFchHsGen, a CAEA voucher's issue moment
    # FCE MiPyME (types 201-213, migration 0019): the issuer's CBU, alias and transfer option
    # (optionals 2101, 2102, 27) as they were when the invoice was saved; on notes, whether it
    # cancels a voucher the buyer rejected (optional 22). Null on every other voucher.
    fce_cbu: Mapped[str | None] = mapped_column(String(22))
    fce_alias: Mapped[str | None] = mapped_column(String(60))
    fce_transfer: Mapped[str | None] = mapped_column(String(3))
    fce_cancels_rejected: Mapped[bool | None]
    # Export vouchers (Factura E, types 19-21, WSFEXv1): null on every other voucher.
    export_type: Mapped[int | None]  # Tipo_expo: 1 goods, 2 services, 4 other
    destination_country: Mapped[int | None]  # Dst_cmp (FEXGetPARAM_DST_pais)
    receiver_country_cuit: Mapped[str | None] = mapped_column(String(11))  # Cuit_pais_cliente
    receiver_tax_id: Mapped[str | None] = mapped_column(String(30))  # Id_impositivo
    incoterms: Mapped[str | None] = mapped_column(String(3))
    incoterms_detail: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[int | None]  # Idioma_cbte: 1 Spanish, 2 English, 3 Portuguese
    export_payment_terms: Mapped[str | None] = mapped_column(String(50))  # Forma_pago
    permit_existing: Mapped[bool | None]  # Permiso_existente, goods only
    # [{"permit_id": str, "destination_country": int}], the customs permits (goods)
    permits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # The `Id` of the last FEXAuthorize sent for it (unique per CUIT, chosen by us).
    export_request_id: Mapped[int | None] = mapped_column(BigInteger)
    observations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )
    vat_rows: Mapped[list[InvoiceVat]] = relationship(
        cascade="all, delete-orphan", order_by="InvoiceVat.rate_id"
    )
    tax_rows: Mapped[list[InvoiceTax]] = relationship(
        cascade="all, delete-orphan", order_by="InvoiceTax.id"
    )
    associated_invoice: Mapped[Invoice | None] = relationship(
        remote_side=lambda: [Invoice.id], foreign_keys=lambda: [Invoice.associated_invoice_id]
    )
    attempts: Mapped[list[AuthorizationAttempt]] = relationship(
        cascade="all, delete-orphan", order_by="AuthorizationAttempt.id"
    )

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE

    @property
    def by_caea(self) -> bool:
        return self.authorization_mode == AuthorizationMode.CAEA

    @property
    def is_export(self) -> bool:
        """A Factura E or its notes: authorized through WSFEXv1, not WSFEv1."""
        return self.invoice_type in EXPORT_TYPES

    @property
    def is_fce(self) -> bool:
        return self.invoice_type in FCE_TYPES


class InvoiceLine(db.Model):  # type: ignore[name-defined]
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int]
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    unit: Mapped[str | None] = mapped_column(String(20))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    vat: Mapped[str] = mapped_column(String(8))  # a VAT rate id ("5"), "exempt" or "untaxed"
    net: Mapped[Decimal] = mapped_column(MONEY)
    vat_amount: Mapped[Decimal] = mapped_column(MONEY)
    total: Mapped[Decimal] = mapped_column(MONEY)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoiceVat(db.Model):  # type: ignore[name-defined]
    """One `AlicIva` of the invoice: the base and VAT of one rate."""

    __tablename__ = "invoice_vat"
    __table_args__ = (UniqueConstraint("invoice_id", "rate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    rate_id: Mapped[int]
    base: Mapped[Decimal] = mapped_column(MONEY)
    amount: Mapped[Decimal] = mapped_column(MONEY)


class InvoiceTax(db.Model):  # type: ignore[name-defined]
    """One `Tributo` (perceptions, internal taxes…)."""

    __tablename__ = "invoice_taxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    tax_id: Mapped[int]
    description: Mapped[str] = mapped_column(String(100))
    base: Mapped[Decimal] = mapped_column(MONEY)
    rate: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    amount: Mapped[Decimal] = mapped_column(MONEY)


class AttemptOutcome(StrEnum):
    PENDING = "pending"  # reserved and about to be sent (or the process died here)
    APPROVED = "approved"
    REJECTED = "rejected"
    UNKNOWN = "unknown"  # sent, no readable answer
    NOT_SENT = "not_sent"  # ARCA unreachable before sending: nothing happened
    RECONCILED = "reconciled"  # FECompConsultar settled an unknown outcome


class AuthorizationAttempt(db.Model):  # type: ignore[name-defined]
    """One FECAESolicitar (or its reconciliation) for one invoice, with what went on the wire
    (Token and Sign redacted by arca.wsfe)."""

    __tablename__ = "authorization_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(16), default=AttemptOutcome.PENDING)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    # The SOAP exchange as sent and received. A bulk request's XML holds all its vouchers: it
    # is kept once, on the batch's first attempt (the batch's attempts share `started_at`),
    # rather than copied onto each of up to 250 rows.
    request_xml: Mapped[str | None] = mapped_column(Text, deferred=True)
    response_xml: Mapped[str | None] = mapped_column(Text, deferred=True)
    detail: Mapped[str | None] = mapped_column(Text)


class CaeaCode(db.Model):  # type: ignore[name-defined]
    """A fortnight's CAEA (FECAEASolicitar), asked for ahead so that vouchers can still be
    issued while WSFE is down (RG 5782: contingency only). `fortnight` is ARCA's Orden (1: days
    1-15, 2: 16 to the month's end); `no_movement` lists the points of sale reported without
    movement (FECAEASinMovimientoInformar): {"point_of_sale", "result", "processed_on"}."""

    __tablename__ = "caea_codes"
    __table_args__ = (
        Index(
            "uq_caea_codes_organization_id_period_fortnight",
            "organization_id",
            "period",
            "fortnight",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    period: Mapped[int]  # yyyymm
    fortnight: Mapped[int]
    code: Mapped[str] = mapped_column(String(14))
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date]
    report_deadline: Mapped[dt.date]
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    no_movement: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class CaeaReportStatus(StrEnum):
    PENDING = "pending"  # issued with the CAEA, not yet informed (FECAEARegInformativo)
    INFORMED = "informed"  # ARCA accepted it: FECompConsultar returns it
    REJECTED = "rejected"  # ARCA refused it: `messages` says why; a person must act


class CaeaReport(db.Model):  # type: ignore[name-defined]
    """Where a contingency voucher stands with ARCA. Kept apart from the invoice, which is
    immutable once issued (migration 0004): informing it changes only this row."""

    __tablename__ = "caea_reports"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'informed', 'rejected')", name="status"),
        Index("ix_caea_reports_organization_id_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), unique=True
    )
    caea_code_id: Mapped[int] = mapped_column(ForeignKey("caea_codes.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=CaeaReportStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    informed_at: Mapped[dt.datetime | None]
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    invoice: Mapped[Invoice] = relationship()
    caea: Mapped[CaeaCode] = relationship()


class _DailyTotalColumns:
    """Authorized vouchers added up per day, in pesos cents (each voucher's amount x rate
    rounded to the cent; credit notes negative). Kept by database triggers when an invoice
    becomes authorized (migration 0005): authorized invoices never change, so adding is all
    it takes. The list's and the dashboard's totals read these instead of summing a million
    rows."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    issue_date: Mapped[dt.date]
    invoice_type: Mapped[int]
    point_of_sale_number: Mapped[int]
    count: Mapped[int] = mapped_column(BigInteger)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)


class InvoiceDailyTotal(_DailyTotalColumns, db.Model):  # type: ignore[name-defined]
    """Per (organization, day, type, point of sale)."""

    __tablename__ = "invoice_daily_totals"
    __table_args__ = (
        # The triggers' ON CONFLICT target, and how the totals are read.
        Index(
            "uq_invoice_daily_totals_key",
            "organization_id",
            "issue_date",
            "invoice_type",
            "point_of_sale_number",
            unique=True,
        ),
    )


class InvoiceCustomerDailyTotal(_DailyTotalColumns, db.Model):  # type: ignore[name-defined]
    """The same per customer (a customer's filter stays fast with tens of thousands of
    vouchers); anonymous consumers have no row here."""

    __tablename__ = "invoice_customer_daily_totals"
    __table_args__ = (
        Index(
            "uq_invoice_customer_daily_totals_key",
            "organization_id",
            "customer_id",
            "issue_date",
            "invoice_type",
            "point_of_sale_number",
            unique=True,
        ),
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))


def with_children() -> tuple[Any, ...]:
    """Loader options for whole vouchers: their lines, VAT and tax rows and the voucher a note
    amends, in one statement each for all the vouchers a query returns."""
    return (
        selectinload(Invoice.lines),
        selectinload(Invoice.vat_rows),
        selectinload(Invoice.tax_rows),
        selectinload(Invoice.associated_invoice),
    )
