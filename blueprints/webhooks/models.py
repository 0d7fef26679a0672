"""Webhook endpoints (where an organization wants its events) and deliveries (one event to
one endpoint: the log the user reads, with the last attempt's exchange)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from core.db import TimestampMixin, db


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # not yet delivered: queued or waiting to retry
    DELIVERED = "delivered"
    FAILED = "failed"  # given up


class WebhookEndpoint(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_organization_id_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Secrets at rest (core.crypto, bound to "webhook_endpoint:<id>"); the previous one keeps
    # signing too until `previous_secret_expires_at` (a rotation's overlap).
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[dt.datetime | None]
    failing_since: Mapped[dt.datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index(
            "ix_webhook_deliveries_organization_id_endpoint_id",
            "organization_id",
            "endpoint_id",
            "id",
        ),
        Index("ix_webhook_deliveries_event_id", "event_id"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    # The body sent (the same bytes on every attempt: the webhook-id and the body do not change).
    request_body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)  # the first KB
    latency_ms: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None]

    @property
    def message_id(self) -> str:
        """The Standard Webhooks `webhook-id`: one per delivery, the same across its retries."""
        return f"msg_{self.id}"


class WebhookAttempt(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """One POST of a delivery: what was sent (headers; the body is the delivery's) and what came
    back. The log the user reads, kept 30 days."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_organization_id_id", "organization_id", "id"),
        Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),
        Index("ix_webhook_attempts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int]
    request_headers: Mapped[dict[str, str]] = mapped_column(JSON)
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)  # the first KB
    latency_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
