from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arca import pki
from core.db import TimestampMixin, db, utcnow

EXPIRING_WITHIN = dt.timedelta(days=30)


class CertificateStatus(StrEnum):
    """What is stored. `expiring` and `expired` are derived from the dates (see `state`)."""

    PENDING = "pending"  # key and CSR made, waiting for ARCA's certificate
    ACTIVE = "active"  # the one this environment signs with
    REPLACED = "replaced"  # another certificate took over (it may be activated again)


class CertificateState(StrEnum):
    """The lifecycle the user sees."""

    PENDING = "pending"
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    REPLACED = "replaced"


class Certificate(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A key pair of the organization's and, once ARCA issued it, its certificate.

    `private_key` is a `core.crypto` token (AES-256-GCM), never the key itself; it is opened only
    by `blueprints.certificates.services.load_credential`.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'active', 'replaced')", name="status"),
        CheckConstraint(
            "environment IN ('sandbox', 'homologacion', 'produccion')", name="environment"
        ),
        CheckConstraint(
            "status = 'pending' OR certificate_pem IS NOT NULL", name="issued_has_certificate"
        ),
        UniqueConstraint("organization_id", "public_key_sha256"),
        Index(
            "uq_certificates_one_active",
            "organization_id",
            "environment",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    environment: Mapped[str] = mapped_column(String(16))
    alias: Mapped[str] = mapped_column(String(64))
    status: Mapped[CertificateStatus] = mapped_column(String(16))
    # SHA-256 of the public key (SubjectPublicKeyInfo DER): matches an upload to its key.
    public_key_sha256: Mapped[str] = mapped_column(String(64))
    private_key: Mapped[str] = mapped_column(Text, deferred=True)
    csr_pem: Mapped[str | None] = mapped_column(Text)
    certificate_pem: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    issuer: Mapped[str | None] = mapped_column(String(300))
    serial_number: Mapped[str | None] = mapped_column(String(64))
    not_valid_before: Mapped[dt.datetime | None]
    not_valid_after: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    installed_at: Mapped[dt.datetime | None]
    replaced_at: Mapped[dt.datetime | None]

    def state(self, now: dt.datetime | None = None) -> CertificateState:
        if self.status in (CertificateStatus.PENDING, CertificateStatus.REPLACED):
            return CertificateState(self.status)
        now = now or utcnow()
        if self.not_valid_after is not None and self.not_valid_after <= now:
            return CertificateState.EXPIRED
        if self.not_valid_after is not None and self.not_valid_after - now <= EXPIRING_WITHIN:
            return CertificateState.EXPIRING
        return CertificateState.ACTIVE

    @property
    def issuer_environment(self) -> str | None:
        """Which environment's CA issued the certificate (None: unknown issuer, or none yet)."""
        if self.certificate_pem is None:
            return None
        return pki.issuer_environment(pki.load_certificate(self.certificate_pem.encode()))

    def days_left(self, now: dt.datetime | None = None) -> int | None:
        if self.not_valid_after is None:
            return None
        return (self.not_valid_after - (now or utcnow())).days


class AccessTicketRecord(db.Model):  # type: ignore[name-defined]
    """WSAA's access ticket for (certificate, service, environment), encrypted.

    ARCA refuses a second ticket while one is valid, so the ticket is kept here, where every
    process and every restart sees it; Redis only caches it.
    """

    __tablename__ = "access_tickets"
    __table_args__ = (UniqueConstraint("certificate_id", "service", "environment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    service: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(16))
    ticket: Mapped[str] = mapped_column(Text)
    generated_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    certificate: Mapped[Certificate] = relationship()
