from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from core.db import TimestampMixin, db


class User(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="es", server_default="es")
    # Bumped when the password changes: every session and "remember me" cookie dies with it.
    auth_version: Mapped[int] = mapped_column(default=1, server_default="1")
    last_login_at: Mapped[dt.datetime | None]
    email_verified_at: Mapped[dt.datetime | None]
    # Two-factor (TOTP): the secret sealed by core.crypto (bound to "user_totp:<id>"), when it
    # was turned on, the last time step accepted (a code is good once), and the sha256 of each
    # unused recovery code.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[dt.datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_codes: Mapped[list[str] | None] = mapped_column(JSON)

    # Flask-Login's protocol.
    is_active = True
    is_anonymous = False
    is_authenticated = True

    @property
    def session_token(self) -> str | None:
        """The token of the login this object serves (set at sign-in and by the loader; not
        a column: only its hash is stored, in `user_sessions`)."""
        return self.__dict__.get("_session_token")

    @session_token.setter
    def session_token(self, token: str | None) -> None:
        self.__dict__["_session_token"] = token

    def get_id(self) -> str:
        """What the session and the "remember me" cookie carry: the login's token with the
        version, so either a password change or ending that login (blueprints/auth/sessions.py)
        makes them worthless."""
        return f"{self.id}:{self.auth_version}:{self.session_token or ''}"


class UserSession(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """One login (a browser): what the sessions page lists and what "close" revokes. The token
    itself lives only in the cookie; its sha256 here."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False, server_default=false())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    last_seen_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
