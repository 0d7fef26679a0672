from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import TimestampMixin, db, utcnow


class PointOfSale(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A point of sale (punto de venta) the organization issues from.

    `emission_type` is ARCA's (`CAE`, `CAEA`, …); `address` is the one printed on invoices from
    it (the organization's when empty). `synced_at` is when ARCA last listed it; None for one
    only added by hand.
    """

    __tablename__ = "points_of_sale"
    __table_args__ = (UniqueConstraint("organization_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(100))
    emission_type: Mapped[str] = mapped_column(String(40), default="CAE")
    blocked: Mapped[bool] = mapped_column(default=False)
    closed_on: Mapped[dt.date | None]
    address: Mapped[str | None] = mapped_column(String(300))
    synced_at: Mapped[dt.datetime | None]

    counters: Mapped[list[VoucherCounter]] = relationship(
        back_populates="point_of_sale",
        cascade="all, delete-orphan",
        order_by="VoucherCounter.invoice_type",
    )

    @property
    def usable(self) -> bool:
        return not self.blocked and self.closed_on is None


class VoucherCounter(db.Model):  # type: ignore[name-defined]
    """The last number ARCA authorized for (point of sale, invoice type), as last asked."""

    __tablename__ = "voucher_counters"
    __table_args__ = (UniqueConstraint("point_of_sale_id", "invoice_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    point_of_sale_id: Mapped[int] = mapped_column(
        ForeignKey("points_of_sale.id", ondelete="CASCADE"), index=True
    )
    invoice_type: Mapped[int]
    last_number: Mapped[int]
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    point_of_sale: Mapped[PointOfSale] = relationship(back_populates="counters")
