"""API keys: what an integrator authenticates with, and how much each key is used per day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from blueprints.auth.models import User
from core.db import TimestampMixin, db, utcnow

# What a key may do; a view declares the one it needs (`api_auth("invoices:read")`).
SCOPES = (
    "organization:read",
    "customers:read",
    "customers:write",
    "invoices:read",
    "invoices:write",
    "invoices:authorize",
    "catalog:read",
    "webhooks:manage",
)
DEFAULT_RATE_LIMIT = 120  # requests per minute
# A key "valid until" a day works through that whole day in Argentina (no daylight saving).
ARGENTINA = dt.timezone(dt.timedelta(hours=-3))


class ApiKey(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A secret an integrator sends as `Authorization: Bearer tal_…`.

    Only the SHA-256 of the secret is stored (`secret_hash`); the secret itself is shown once,
    when the key is made. `prefix` (its first characters) tells keys apart in lists and logs.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("rate_limit > 0", name="rate_limit_positive"),
        Index("ix_api_keys_organization_id_created_at", "organization_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The ARCA environment the organization worked in when the key was made (shown in the list).
    environment: Mapped[str] = mapped_column(String(16))
    rate_limit: Mapped[int] = mapped_column(
        default=DEFAULT_RATE_LIMIT, server_default=text(str(DEFAULT_RATE_LIMIT))
    )
    expires_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    created_by: Mapped[User | None] = relationship()

    def is_active(self, now: dt.datetime | None = None) -> bool:
        now = now or utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def expires_on(self) -> dt.date | None:
        """The last day the key works (its expiry is the end of that day, Argentine time)."""
        if self.expires_at is None:
            return None
        return (self.expires_at.astimezone(ARGENTINA) - dt.timedelta(microseconds=1)).date()

    @property
    def actor_label(self) -> str:
        """How the audit trail names this key: "API: Tienda online (tal_ab12cd34…)"."""
        return f"API: {self.name} ({self.prefix}…)"


class ApiKeyUsage(db.Model):  # type: ignore[name-defined]
    """Requests per key and day (UTC), added up from the cache's counters (api/usage.py)."""

    __tablename__ = "api_key_usage"

    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
