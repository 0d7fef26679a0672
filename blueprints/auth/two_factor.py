"""Two-factor authentication: TOTP codes (RFC 6238) and single-use recovery codes.

TOTP as every authenticator app reads it: SHA-1, 6 digits, 30-second steps; a code of the step
before or after is accepted too (clocks drift), but each step only once: the last step used is
stored, and a code of that step or an earlier one is refused (a code seen over a shoulder or
in a proxy log cannot be replayed within its window).

The secret is encrypted at rest with `core.crypto`, bound to `user_totp:<id>` (a ciphertext
copied to another user does not open), and opened only in `_open_secret`. Enrolment stores the
secret first with `totp_enabled_at` NULL; the confirming code puts it in force. Recovery codes
are shown once and stored as SHA-256 digests: random 50-bit codes need no slow hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass
from typing import Any

import pyotp
import segno
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from blueprints.audit.accounts import record_account_event
from blueprints.auth.models import User
from core.cache import Cache
from core.crypto import KeyRing
from core.db import DbSession
from core.errors import Conflict, DomainError, ValidationFailed
from core.security import verify_password

ISSUER = "Talonario"
VALID_WINDOW = 1  # steps either side of now
RECOVERY_CODE_COUNT = 10
# Crockford-like alphabet: no 0/O, 1/I/L to misread when copied from paper.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10  # two groups of five: about 49 bits
PENDING_LOGIN_KEY = "two_factor_pending"
PENDING_LOGIN_SECONDS = 5 * 60
MAX_CODE_FAILURES = 5

TOTP = "totp"
RECOVERY_CODE = "recovery_code"


class InvalidCode(ValidationFailed):
    """A code that is wrong, out of its window, or already used."""


class LoginStepExpired(DomainError):
    """No password step to complete: never done, older than 5 minutes, or too many wrong codes."""

    status = 401


# --- enrolment -----------------------------------------------------------------------------


def begin_enrolment(session: DbSession, keyring: KeyRing, user: User) -> None:
    """Store a new secret for `user`, not in force until `confirm_enrolment`. Commits.

    Raises Conflict when two-factor is already on (turning it off needs password and code).
    """
    if user.totp_enabled_at is not None:
        raise Conflict(_("La verificación en dos pasos ya está activada."))
    user.totp_secret = keyring.encrypt(pyotp.random_base32().encode(), secret_aad(user.id))
    user.totp_last_step = None
    session.commit()


def enrolment_secret(keyring: KeyRing, user: User) -> str | None:
    """The secret of an enrolment in progress, to show as QR and text; None when there is none."""
    if user.totp_enabled_at is not None or user.totp_secret is None:
        return None
    return _open_secret(keyring, user)


def confirm_enrolment(
    session: DbSession, keyring: KeyRing, user: User, code: str, now: dt.datetime
) -> list[str]:
    """Put the pending secret in force once a code from it checks out. Commits.

    Returns the 10 recovery codes, in plaintext for the only time (only digests are stored).
    Raises Conflict without an enrolment in progress, InvalidCode for a wrong code.
    """
    if user.totp_enabled_at is not None or user.totp_secret is None:
        raise Conflict(_("Empezá de nuevo la activación: no hay una clave pendiente."))
    if not _accept_totp(session, keyring, user, code, now):
        raise invalid_code()
    user.totp_enabled_at = now
    codes = _new_recovery_codes(user)
    record_account_event(session, user, "auth.two_factor_enabled")
    session.commit()
    return codes


def regenerate_recovery_codes(
    session: DbSession, keyring: KeyRing, user: User, code: str, now: dt.datetime
) -> list[str]:
    """New recovery codes (the old ones stop working), after a current code. Commits."""
    _ensure_enabled(user)
    if not _accept_totp(session, keyring, user, code, now):
        raise invalid_code()
    codes = _new_recovery_codes(user)
    session.commit()
    return codes


def disable_two_factor(
    session: DbSession, keyring: KeyRing, user: User, password: str, code: str, now: dt.datetime
) -> None:
    """Turn two-factor off: needs the password and a code (or a recovery code). Commits."""
    _ensure_enabled(user)
    if not verify_password(user.password_hash, password):
        raise ValidationFailed(_("La contraseña no es correcta."), field="password")
    check_second_factor(session, keyring, user, code, now)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = None
    record_account_event(session, user, "auth.two_factor_disabled")
    session.commit()


def _ensure_enabled(user: User) -> None:
    if user.totp_enabled_at is None:
        raise Conflict(_("La verificación en dos pasos no está activada."))


# --- checking codes ------------------------------------------------------------------------


def check_second_factor(
    session: DbSession, keyring: KeyRing, user: User, code: str, now: dt.datetime
) -> str:
    """Accept a TOTP code or a recovery code, each once: returns which one (TOTP or
    RECOVERY_CODE). Records the use (flushed, the caller commits); raises InvalidCode."""
    if _accept_totp(session, keyring, user, code, now):
        return TOTP
    if _consume_recovery_code(session, user, code):
        return RECOVERY_CODE
    raise invalid_code()


def invalid_code() -> InvalidCode:
    return InvalidCode(_("El código no es válido o ya se usó."), field="code")


def _accept_totp(
    session: DbSession, keyring: KeyRing, user: User, code: str, now: dt.datetime
) -> bool:
    """True for a code of a step within the window and later than the last one used.

    The step is recorded by a conditional UPDATE, so of two requests racing with the same
    code only one is accepted.
    """
    digits = "".join(code.split())
    if user.totp_secret is None or len(digits) != 6 or not digits.isdigit():
        return False
    step = matching_step(_open_secret(keyring, user), digits, now)
    if step is None:
        return False
    claimed = session.execute(
        update(User)
        .where(User.id == user.id)
        .where(or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(user, ["totp_last_step"])
    return True


def matching_step(secret: str, digits: str, now: dt.datetime) -> int | None:
    """The time step within ±VALID_WINDOW whose code is `digits`, or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def _consume_recovery_code(session: DbSession, user: User, code: str) -> bool:
    """Strike a recovery code off the list; the row is locked so a code is spent only once."""
    digest = recovery_digest(code)
    if not digest:
        return False
    stored = session.scalar(select(User.recovery_codes).where(User.id == user.id).with_for_update())
    remaining = list(stored or [])
    if digest not in remaining:
        return False
    remaining.remove(digest)
    user.recovery_codes = remaining
    session.flush()
    return True


def remaining_recovery_codes(user: User) -> int:
    return len(user.recovery_codes or [])


def _new_recovery_codes(user: User) -> list[str]:
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    user.recovery_codes = [recovery_digest(code) for code in codes]
    return codes


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def recovery_digest(code: str) -> str:
    """The stored form: case, spaces and dashes do not matter when it is typed back."""
    normalized = "".join(ch for ch in code.lower() if ch.isalnum())
    if len(normalized) != RECOVERY_CODE_LENGTH:
        return ""
    return hashlib.sha256(normalized.encode()).hexdigest()


def secret_aad(user_id: int) -> bytes:
    return f"user_totp:{user_id}".encode()


def _open_secret(keyring: KeyRing, user: User) -> str:
    """The one place a TOTP secret is decrypted."""
    return keyring.decrypt(user.totp_secret or "", secret_aad(user.id)).decode()


# --- showing the secret --------------------------------------------------------------------


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The QR code as inline SVG: attributes only, no style, so the CSP lets it through."""
    qr = segno.make(uri, error="m")
    svg: str = qr.svg_inline(scale=5, dark="#111", light="#fff", title=title, svgclass="qr-code")
    return svg


def grouped(secret: str) -> str:
    """`JBSW Y3DP …`: easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- the login's second step ---------------------------------------------------------------


@dataclass(frozen=True)
class PendingLogin:
    """A password step passed, waiting for its code; kept in the (not yet logged-in) session."""

    user_id: int
    auth_version: int
    remember: bool
    next: str | None
    expires_at: float
    nonce: str

    def failures_key(self) -> str:
        return f"auth:two-factor-failures:{self.nonce}"


def requires_second_step(user: User) -> bool:
    return user.totp_enabled_at is not None


def hold_login(
    store: MutableMapping[str, Any], user: User, remember: bool, next_url: str | None, now: float
) -> None:
    """Remember in `store` (the Flask session) who passed the password step, for 5 minutes."""
    pending = PendingLogin(
        user_id=user.id,
        auth_version=user.auth_version,
        remember=remember,
        next=next_url,
        expires_at=now + PENDING_LOGIN_SECONDS,
        nonce=secrets.token_urlsafe(16),
    )
    store[PENDING_LOGIN_KEY] = asdict(pending)


def read_pending_login(store: MutableMapping[str, Any], now: float) -> PendingLogin | None:
    """The pending login, or None (and the stale one dropped) when absent or expired."""
    try:
        pending = PendingLogin(**store.get(PENDING_LOGIN_KEY) or {})
    except TypeError:
        pending = None
    if pending is None or pending.expires_at <= now:
        store.pop(PENDING_LOGIN_KEY, None)
        return None
    return pending


def complete_login(
    session: DbSession,
    cache: Cache,
    keyring: KeyRing,
    pending: PendingLogin,
    code: str,
    now: dt.datetime,
) -> tuple[User, str]:
    """The user whose password step `pending` records, once `code` checks out. Commits.

    Returns the user and the kind of code used. Raises InvalidCode for a wrong code, and
    LoginStepExpired when the user changed meanwhile (password changed, deleted) or on the
    MAX_CODE_FAILURES-th wrong code: the count is kept in the cache per pending login, so
    replaying an older session cookie does not reset it.
    """
    user = session.get(User, pending.user_id)
    if user is None or user.auth_version != pending.auth_version:
        raise login_step_expired()
    if int(cache.get(pending.failures_key()) or 0) >= MAX_CODE_FAILURES:
        raise login_step_expired()
    try:
        kind = check_second_factor(session, keyring, user, code, now)
    except InvalidCode:
        session.rollback()
        if cache.incr(pending.failures_key(), PENDING_LOGIN_SECONDS) >= MAX_CODE_FAILURES:
            raise login_step_expired() from None
        raise
    record_account_event(session, user, "auth.login", {"second_factor": kind})
    session.commit()
    return user, kind


def login_step_expired() -> LoginStepExpired:
    return LoginStepExpired(_("Volvé a ingresar tu email y tu contraseña."))
