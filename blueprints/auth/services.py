"""Accounts: sign-up, credentials, login throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from blueprints.audit.accounts import record_account_event
from blueprints.auth.models import User
from blueprints.auth.passwords import password_problem
from blueprints.auth.recovery import (
    hold_invitation,
    notify_signup_attempt,
    queue_verification,
    spend_like_a_sign_up,
    user_by_email,
    wake_task,
)
from blueprints.auth.sessions import find_live_session
from blueprints.organizations.services import (
    OrganizationDetails,
    add_owner,
    build_organization,
    commit_or_conflict,
    ensure_cuit_free,
    find_invitation,
    normalize_email,
)
from core.cache import Cache
from core.db import DbSession, utcnow
from core.errors import DomainError, NotFound, TooManyRequests, ValidationFailed
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
    """How many login attempts an account (from every address) and an address (to every
    account) get per window, and the longest lock; see `authenticate`."""

    max_failures: int
    window_seconds: int
    max_per_address: int = 20
    max_lock_seconds: int = 3600

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Throttle:
        return cls(
            max_failures=int(config["LOGIN_MAX_FAILURES"]),
            window_seconds=int(config["LOGIN_FAILURE_WINDOW_SECONDS"]),
            max_per_address=int(config.get("LOGIN_MAX_ATTEMPTS_PER_ADDRESS", 20)),
            max_lock_seconds=int(config.get("LOGIN_MAX_LOCK_SECONDS", 3600)),
        )


@dataclass(frozen=True)
class Allowance:
    """The login attempts one account, or one address, has left: three cache keys."""

    name: str
    limit: int

    def key(self, part: str) -> str:
        return f"auth:login-{part}:{self.name}"


# A lock's length doubles each time the allowance is spent again within this long.
STRIKES_MEMORY_SECONDS = 24 * 3600


def sign_up(
    session: DbSession, cache: Cache, account: AccountDetails, details: OrganizationDetails
) -> None:
    """A new user, their organization and its owner membership, with the email that verifies
    the address, all committed together or none of them; then the sending is woken. Nobody is
    logged in: the caller shows "check your email".

    An address that already has an account creates nothing: its owner is emailed that someone
    tried, and the caller answers exactly as for a new account, so the form can't tell who has
    one. Raises ValidationFailed / Conflict about the input (a taken CUIT says so: CUITs are
    public)."""
    names = [details.legal_name, details.trade_name, account.name]
    check_password_strength(account.password, account.email, names)
    organization = build_organization(details)
    ensure_cuit_free(session, organization.cuit)
    if (existing := user_by_email(session, account.email)) is not None:
        answer_taken_email(session, cache, existing, account.password)
        return
    user = build_user(session, account)
    session.add_all([user, organization])
    add_owner(session, organization, user)
    task_id = queue_verification(session, user)
    commit_or_conflict(session, field="email")
    wake_task(task_id)


def sign_up_invited(session: DbSession, cache: Cache, account: AccountDetails, token: str) -> None:
    """A new user bound to the invitation that brought them, in one commit with the email that
    verifies the address. The membership takes effect when the address is confirmed: the link
    alone (it may have leaked into a log) is not enough to join. An address that already has
    an account: as in `sign_up`. NotFound for a dead link or another address."""
    membership = find_invitation(session, token)
    organization = membership.organization
    names = [organization.legal_name, organization.trade_name, account.name]
    check_password_strength(account.password, account.email, names)
    if normalize_email(account.email) != membership.email:
        raise NotFound(_("La invitación no existe, ya se usó o venció. Pedí una nueva."))
    if (existing := user_by_email(session, account.email)) is not None:
        answer_taken_email(session, cache, existing, account.password)
        return
    user = build_user(session, account)
    session.add(user)
    hold_invitation(membership, user)
    task_id = queue_verification(session, user)
    commit_or_conflict(session, field="email")
    wake_task(task_id)


def answer_taken_email(session: DbSession, cache: Cache, user: User, password: str) -> None:
    """A sign-up with `user`'s address: the same argon2 work as a new account, and an email to
    the account's owner instead of an answer on the form. Commits, then wakes it."""
    spend_like_a_sign_up(password)
    task_id = notify_signup_attempt(session, cache, user)
    session.commit()
    wake_task(task_id)


def build_user(_session: DbSession, account: AccountDetails) -> User:
    """A new account, unverified, not yet in the session. The caller checks the password
    policy (it knows the businesses involved) and that the address is free."""
    return User(
        email=normalize_email(account.email),
        name=account.name.strip(),
        password_hash=hash_password(account.password),
    )


def check_password_strength(
    password: str, email: str = "", names: Iterable[str | None] = ()
) -> None:
    """The password policy (blueprints/auth/passwords.py): ValidationFailed on "password" with
    the reason. `email` and `names` (businesses, the person) are what it must not contain; for
    an existing account `recovery.check_new_password` fills them in."""
    if problem := password_problem(password, email, names):
        raise ValidationFailed(problem, field="password")


def authenticate(
    session: DbSession, cache: Cache, throttle: Throttle, email: str, password: str, ip: str
) -> User:
    """The user with these credentials, or InvalidCredentials / TooManyRequests.

    Each attempt is counted before any password is checked, against the account (from every
    address) and the address (to every account), with an atomic increment: of any number of
    concurrent attempts at most the allowance reaches argon2, and once it is spent even the
    right password is refused unchecked. The failure that spends an allowance locks it for the
    window, twice as long each further time within a day, up to `max_lock_seconds`. A success
    clears the account's record only; the address gets back the one attempt the success held
    (an office's logins don't add up), keeping its failures.
    """
    email = normalize_email(email)
    account, address = login_allowances(throttle, email, ip)
    spent = take_attempt(cache, throttle, (account, address))
    user = session.scalar(select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        lock_spent(cache, throttle, spent)
        if user is not None:
            record_account_event(session, user, "auth.login_failed")
            session.commit()
        raise InvalidCredentials(_("El email o la contraseña no son correctos."))
    for part in ("attempts", "strikes"):
        cache.delete(account.key(part))
    cache.decr(address.key("attempts"))
    record_login(session, user, password)
    return user


def login_allowances(throttle: Throttle, email: str, ip: str) -> tuple[Allowance, Allowance]:
    return (
        Allowance(failures_key("account", email), throttle.max_failures),
        Allowance(failures_key("address", ip), throttle.max_per_address),
    )


def take_attempt(
    cache: Cache, throttle: Throttle, allowances: tuple[Allowance, ...]
) -> list[Allowance]:
    """Count one attempt against each allowance; TooManyRequests (how long to wait, never
    which allowance) if one is locked or spent. Returns the allowances whose last attempt this
    one took: a failure now locks them."""
    waits, spent = [], []
    for allowance in allowances:
        if wait := lock_wait(cache, allowance):
            waits.append(wait)
            continue
        count = cache.incr(allowance.key("attempts"), throttle.window_seconds)
        if count > allowance.limit:
            waits.append(max(cache.ttl(allowance.key("attempts")), 1))
        elif count == allowance.limit:
            spent.append(allowance)
    if waits:
        raise too_many_attempts(max(waits))
    return spent


def lock_wait(cache: Cache, allowance: Allowance) -> int:
    """Seconds until the allowance's lock ends (the lock holds its end time); 0 if unlocked."""
    until = cache.get(allowance.key("lock"))
    return max(math.ceil(float(until) - time.time()), 1) if until else 0


def lock_spent(cache: Cache, throttle: Throttle, spent: list[Allowance]) -> None:
    for allowance in spent:
        strikes = cache.incr(allowance.key("strikes"), STRIKES_MEMORY_SECONDS)
        seconds = lock_seconds(throttle.window_seconds, strikes, throttle.max_lock_seconds)
        cache.set(allowance.key("lock"), f"{time.time() + seconds:.3f}".encode(), seconds)


def lock_seconds(window_seconds: int, strikes: int, max_lock_seconds: int) -> int:
    """The window, doubled for each earlier lock, capped."""
    return min(window_seconds * 2 ** min(strikes - 1, 32), max_lock_seconds)


def too_many_attempts(retry_after: int) -> TooManyRequests:
    # The same words whichever allowance ran out: which one would tell a guesser too much.
    if retry_after >= 120:
        message = _(
            "Demasiados intentos. Esperá %(minutes)d minutos y volvé a intentar.",
            minutes=math.ceil(retry_after / 60),
        )
    else:
        message = _(
            "Demasiados intentos. Esperá %(seconds)d segundos y volvé a intentar.",
            seconds=retry_after,
        )
    return TooManyRequests(message, retry_after=retry_after)


def record_login(session: DbSession, user: User, password: str) -> None:
    # Upgrade the hash in place when the hasher's parameters have been raised since.
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    if user.totp_enabled_at is None:  # with two-factor, the login is its second step's
        record_account_event(session, user, "auth.login")
    session.commit()


def failures_key(scope: str, value: str) -> str:
    # Hashed so neither the email nor the address sits in Redis in the clear.
    return f"{scope}:{hashlib.sha256(value.encode()).hexdigest()}"


def load_user(session: DbSession, user_id: str, now: dt.datetime) -> User | None:
    """Flask-Login's loader: `<id>:<auth_version>:<session token>` (User.get_id) of a live
    login; an old version, or a revoked, unknown or expired login, signs no one in."""
    raw_id, version, token = [*user_id.split(":", 2), "", ""][:3]
    user_pk, auth_version = parse_id(raw_id), parse_int(version)
    if user_pk is None or auth_version is None or not token:
        return None
    user = session.get(User, user_pk)
    if user is None or user.auth_version != auth_version:
        return None
    if find_live_session(session, user, token, now) is None:
        return None
    user.session_token = token
    return user


def set_locale(session: DbSession, user: User, locale: str) -> None:
    user.locale = locale
    session.commit()
