"""Accounts: sign-up, credentials, login throttling."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from blueprints.auth.forms import MIN_PASSWORD_LENGTH, password_too_short
from blueprints.auth.models import User
from blueprints.organizations.models import Membership, Organization
from blueprints.organizations.services import (
    OrganizationDetails,
    add_owner,
    bind_invitation,
    build_organization,
    commit_or_conflict,
    ensure_cuit_free,
    find_invitation,
    normalize_email,
)
from core.cache import Cache
from core.db import DbSession, utcnow
from core.errors import Conflict, DomainError, TooManyRequests, ValidationFailed
from core.inputs import parse_id, parse_int
from core.security import hash_password, password_needs_rehash, verify_password


class InvalidCredentials(DomainError):
    status = 401


@dataclass(frozen=True)
class AccountDetails:
    name: str
    email: str
    password: str


@dataclass(frozen=True)
class Throttle:
    max_failures: int
    window_seconds: int


def sign_up(
    session: DbSession, account: AccountDetails, details: OrganizationDetails
) -> tuple[User, Organization]:
    """User + organization + owner membership, all committed together or none of them."""
    user = build_user(session, account)
    organization = build_organization(details)
    ensure_cuit_free(session, organization.cuit)
    session.add_all([user, organization])
    add_owner(session, organization, user)
    commit_or_conflict(session, field="email")
    return user, organization


def sign_up_invited(session: DbSession, account: AccountDetails, token: str) -> Membership:
    """A new user who joins the organization that invited them, in one commit."""
    membership = find_invitation(session, token)
    user = build_user(session, account)
    session.add(user)
    bind_invitation(membership, user)
    commit_or_conflict(session, field="email")
    return membership


def build_user(session: DbSession, account: AccountDetails) -> User:
    email = normalize_email(account.email)
    check_password_strength(account.password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            _("Ya existe una cuenta con el email %(email)s. ¿Querés ingresar?", email=email),
            field="email",
        )
    return User(
        email=email, name=account.name.strip(), password_hash=hash_password(account.password)
    )


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(password_too_short(), field="password")


def authenticate(
    session: DbSession, cache: Cache, throttle: Throttle, email: str, password: str, ip: str
) -> User:
    """The user with these credentials, or InvalidCredentials / TooManyRequests.

    Failures are counted per email and address; after `max_failures` within the window even
    the right password is refused until the window ends, so guessing gains nothing.
    """
    email = normalize_email(email)
    key = failures_key(email, ip)
    failures = int(cache.get(key) or 0)
    if failures >= throttle.max_failures:
        raise too_many_attempts(cache.ttl(key) or throttle.window_seconds)
    user = session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        cache.incr(key, throttle.window_seconds)
        raise InvalidCredentials(_("El email o la contraseña no son correctos."))
    cache.delete(key)
    record_login(session, user, password)
    return user


def too_many_attempts(retry_after: int) -> TooManyRequests:
    return TooManyRequests(
        _(
            "Demasiados intentos fallidos para este email. "
            "Esperá %(seconds)d segundos y volvé a intentar.",
            seconds=retry_after,
        ),
        retry_after=retry_after,
    )


def record_login(session: DbSession, user: User, password: str) -> None:
    # Upgrade the hash in place when the hasher's parameters have been raised since.
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.commit()


def failures_key(email: str, ip: str) -> str:
    # Hashed so the email address never sits in Redis in the clear.
    digest = hashlib.sha256(f"{email}|{ip}".encode()).hexdigest()
    return f"auth:login-failures:{digest}"


def load_user(session: DbSession, user_id: str) -> User | None:
    """Flask-Login's loader: `<id>:<auth_version>`; an old version no longer logs anyone in."""
    raw_id, _sep, version = user_id.partition(":")
    user_pk, auth_version = parse_id(raw_id), parse_int(version)
    if user_pk is None or auth_version is None:
        return None
    user = session.get(User, user_pk)
    if user is None or user.auth_version != auth_version:
        return None
    return user


def set_locale(session: DbSession, user: User, locale: str) -> None:
    user.locale = locale
    session.commit()
