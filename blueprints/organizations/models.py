from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arca.codes import IssuerCondition
from blueprints.auth.models import User
from core.db import TimestampMixin, db


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ACCOUNTANT = "accountant"  # reads and exports
    MEMBER = "member"


class MembershipStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"


MANAGER_ROLES = (Role.OWNER, Role.ADMIN)


class Organization(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """The taxpayer that issues invoices."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    cuit: Mapped[str] = mapped_column(String(11), unique=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    trade_name: Mapped[str | None] = mapped_column(String(200))
    iva_condition: Mapped[IssuerCondition] = mapped_column(String(32))
    iibb: Mapped[str | None] = mapped_column(String(30))
    activity_start: Mapped[dt.date | None]
    address: Mapped[str | None] = mapped_column(String(300))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_mime: Mapped[str | None] = mapped_column(String(40))
    # ARCA tells some Responsables Inscriptos to issue "A con leyenda «operación sujeta a
    # retención»" (codes 51-53) instead of plain A (RG 1575; NOTES §8).
    a_with_legend: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Email each authorized invoice to its customer (when the customer has an address).
    email_invoices: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Owners and admins must turn on two-factor authentication to work in this organization.
    require_two_factor: Mapped[bool] = mapped_column(default=False, server_default=false())
    # FCE MiPyME (migration 0019): the CBU (22 digits) and alias the buyer pays into, and how
    # the credit may circulate (optional 27: SCA open circulation, ADC collective deposit).
    # Copied onto each FCE invoice when it is saved.
    cbu: Mapped[str | None] = mapped_column(String(22))
    cbu_alias: Mapped[str | None] = mapped_column(String(60))
    fce_transfer: Mapped[str] = mapped_column(String(3), default="SCA", server_default="SCA")
    # Closed by its owner (blueprints/organizations/closing.py): read-only from then on, its
    # fiscal records kept until their retention ends, then purged.
    closed_at: Mapped[dt.datetime | None]

    @property
    def display_name(self) -> str:
        return self.trade_name or self.legal_name


class Membership(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A user's role in an organization; PENDING while it is an invitation not yet accepted."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'admin', 'accountant', 'member')", name="role"),
        CheckConstraint("status IN ('pending', 'active')", name="status"),
        CheckConstraint("status = 'pending' OR user_id IS NOT NULL", name="active_has_user"),
        Index(
            "uq_memberships_organization_id_user_id",
            "organization_id",
            "user_id",
            unique=True,
            postgresql_where=text("user_id IS NOT NULL"),
            sqlite_where=text("user_id IS NOT NULL"),
        ),
        Index(
            "uq_memberships_pending_email",
            "organization_id",
            "email",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(String(16))
    status: Mapped[MembershipStatus] = mapped_column(String(16))
    # sha256 of the one-time invitation token; cleared when accepted.
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[dt.datetime | None]
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[dt.datetime | None]

    organization: Mapped[Organization] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
