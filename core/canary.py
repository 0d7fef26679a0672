"""The encryption keys' canary: a known value sealed with the keys at first start. Keys that
cannot open it are the wrong keys: the app must not start with them (it would seal new
secrets that the right keys can't open)."""

from __future__ import annotations

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import TimestampMixin, db


class KeyCanary(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "key_canaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(Text)
