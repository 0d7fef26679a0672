"""Login sessions kept on the server: one `user_sessions` row per login, so each one can be ended.

A login's cookies (the Flask session and the "remember me" cookie) carry
`<user id>:<auth_version>:<token>`; only the token's SHA-256 is stored. The loader accepts a
cookie only while its row is live: not revoked, the user's `auth_version` unchanged, and not
past its limit (a remembered login lasts `REMEMBER_FOR` from sign-in; any other one ends after
`IDLE_LIMIT` without a request). Ending a row ends that login wherever its cookies are replayed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app, request
from flask import session as browser_session
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import select, update

from blueprints.audit.accounts import record_account_event
from blueprints.auth.models import User, UserSession
from core.db import DbSession, db, utcnow
from core.errors import NotFound

REMEMBER_FOR = dt.timedelta(days=30)
IDLE_LIMIT = dt.timedelta(hours=8)
# last_seen_at is written at most this often: no database write on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)
USER_AGENT_LENGTH = 300
ADDRESS_LENGTH = 64


@dataclass(frozen=True)
class Client:
    """Where a login comes from, as shown on the sessions page."""

    address: str
    user_agent: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    session: DbSession, user: User, remember: bool, client: Client, now: dt.datetime
) -> str:
    """Record a new login of `user` and commit; returns its token (stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=hash_token(token),
            remember=remember,
            ip=client.address[:ADDRESS_LENGTH],
            user_agent=client.user_agent[:USER_AGENT_LENGTH],
            created_at=now,
            last_seen_at=now,
        )
    )
    session.commit()
    user.session_token = token
    return token


def find_live_session(
    session: DbSession, user: User, token: str, now: dt.datetime
) -> UserSession | None:
    """The live row of `user` with this token, its last_seen_at refreshed (committed) at most
    once per `TOUCH_EVERY`; None when unknown, revoked or past its limit."""
    row = session.scalar(
        select(UserSession).where(
            UserSession.token_hash == hash_token(token), UserSession.user_id == user.id
        )
    )
    if row is None or row.revoked_at is not None or has_expired(row, now):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return row


def has_expired(row: UserSession, now: dt.datetime) -> bool:
    if row.remember:
        return now - row.created_at > REMEMBER_FOR
    return now - row.last_seen_at > IDLE_LIMIT


def list_sessions(session: DbSession, user: User, now: dt.datetime) -> list[UserSession]:
    """The user's live logins, the most recently used first."""
    rows = session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return [row for row in rows if not has_expired(row, now)]


def current_session(session: DbSession, user: User) -> UserSession | None:
    """The row of the login serving this request (the loader put its token on `user`)."""
    if not user.session_token:
        return None
    return session.scalar(
        select(UserSession).where(
            UserSession.token_hash == hash_token(user.session_token),
            UserSession.user_id == user.id,
        )
    )


def end_session(session: DbSession, user: User, session_id: int, now: dt.datetime) -> None:
    """Revoke one of `user`'s logins and commit; another user's (or no) row is NotFound."""
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("Esa sesión no existe o ya se cerró."))
    if row.revoked_at is None:
        row.revoked_at = now
        record_account_event(session, user, "auth.sessions_revoked", {"session_id": row.id})
    session.commit()


def end_current(session: DbSession, user: User, now: dt.datetime) -> None:
    """Revoke the login serving this request (logout) and commit."""
    row = current_session(session, user)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        record_account_event(session, user, "auth.logout")
        session.commit()


def end_others(session: DbSession, user: User, keep: UserSession | None, now: dt.datetime) -> None:
    """Revoke every live login of `user` but `keep` (all of them when None), and commit."""
    revoke_all(session, user, keep, now)
    details = {"all_sessions": keep is None}
    record_account_event(session, user, "auth.sessions_revoked", details)
    session.commit()


def end_all(session: DbSession, user: User, keep: UserSession | None = None) -> None:
    """Revoke every login of `user` but `keep` and bump `auth_version`, in one commit.

    For a password change or reset: cookies issued before it die with the old version even
    where no row would stop them. `keep` survives only if its owner is signed in again
    (`start_session`), since its cookies carry the old version too.
    """
    revoke_all(session, user, keep, utcnow())
    user.auth_version += 1
    session.commit()


def revoke_all(session: DbSession, user: User, keep: UserSession | None, now: dt.datetime) -> None:
    statement = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    session.execute(statement.values(revoked_at=now))


# The browser's side: the Flask session and Flask-Login's cookies.


def start_session(user: User | None, remember: bool, organization_id: int | None = None) -> None:
    """Log in under a fresh session id and a new `user_sessions` row.

    A fresh id makes one planted before login worth nothing after it; a new token makes each
    login's "remember me" cookie different, so ending one login does not end the others. Without
    "remember me" the session cookie lasts only as long as the browser (no Expires).
    """
    if user is None:
        raise ValueError("start_session needs the user who signed in")
    locale = browser_session.get("locale")
    rotate_session()
    browser_session.clear()
    browser_session.permanent = remember
    if locale:
        browser_session["locale"] = locale
    if organization_id is not None:
        browser_session["organization_id"] = organization_id
    open_session(db.session, user, remember, client(), utcnow())
    login_user(user, remember=remember, duration=REMEMBER_FOR)


def sign_out() -> None:
    """Forget the login in this browser: a new empty session, the remember cookie cleared."""
    rotate_session()
    browser_session.clear()
    # After clear(): logout_user marks the remember cookie for deletion in the session.
    logout_user()


def rotate_session() -> None:
    regenerate = getattr(current_app.session_interface, "regenerate", None)
    if regenerate is not None and browser_session:
        regenerate(browser_session)


def client() -> Client:
    return Client(
        address=request.remote_addr or "unknown",
        user_agent=request.user_agent.string or "",
    )
