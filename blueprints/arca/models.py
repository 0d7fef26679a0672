from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class ParameterTable(db.Model):  # type: ignore[name-defined]
    """An FEParamGet* table as ARCA last answered it, per environment (the same for every CUIT)."""

    __tablename__ = "arca_parameter_tables"
    __table_args__ = (UniqueConstraint("environment", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(40))
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    fetched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
