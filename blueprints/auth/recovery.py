"""Proving who holds an email address: password reset links, email verification, and the
notice an account's owner gets when someone tries to sign up with their address.

Links carry signed tokens (itsdangerous, keyed by the app's SECRET_KEY, one salt per purpose)
instead of stored rows:
- a reset token binds the user id and a fingerprint of the current password hash and
  `auth_version`: it expires after an hour and dies at the first password change — its own
  use included — so it works once;
- a verification token binds the user id and the address; it expires after three days, and a
  changed address voids it.

A verified address is what an invitation waits for: an unverified account bound to an
invitation keeps the membership pending, so an invitation link read from a log is not enough
to join (the link's reader would also need the invitee's mailbox). Confirming the address
activates it. Confirming needs the account's own login, so a mailbox owner who clicks a link
for an account someone else created in their name confirms nothing.

Every message goes through the outbox (`core.mail`) in the caller's transaction; the request
never talks SMTP, so answering takes about as long whether or not an account exists.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select, update

from blueprints.audit.accounts import record_account_event
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.auth.passwords import password_problem
from blueprints.organizations.models import Membership, MembershipStatus, Organization
from blueprints.organizations.notices import public_url
from blueprints.organizations.services import bind_invitation, normalize_email
from core.cache import Cache
from core.db import DbSession, utcnow
from core.errors import Forbidden, NotFound, ValidationFailed
from core.i18n import DEFAULT_LOCALE, LANGUAGES
from core.mail import build_message, queue_mail
from core.rowsecurity import across_organizations
from core.security import hash_password
from core.tasks import wake

log = logging.getLogger(__name__)

RESET_SALT = "password-reset"
VERIFY_SALT = "email-verify"
RESET_MAX_AGE = 60 * 60
VERIFY_MAX_AGE = 3 * 24 * 60 * 60
# At most one message of each kind per address in this many seconds: a form posted in a loop
# must not flood someone's mailbox. Later requests in the window get the same answer and no mail.
MAIL_INTERVAL_SECONDS = 60

RESET_KIND = "account.reset"
VERIFY_KIND = "account.verify"
SIGNUP_ATTEMPT_KIND = "account.signup_attempt"
SIGNUP_EMAIL_KEY = "signup_email"  # the "check your email" page shows where the link went

F = TypeVar("F", bound=Callable[..., Any])


class InvalidLink(NotFound):
    """A reset or verification link that is malformed, expired, used, or for another address."""


class EmailNotVerified(Forbidden):
    """An action that needs a confirmed address, asked for by an account without one."""


# --- tokens --------------------------------------------------------------------------------------


def serializer(salt: str) -> URLSafeTimedSerializer:
    # The current key signs; fallbacks (a rotation in progress) still verify.
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or []), current_app.secret_key]
    return URLSafeTimedSerializer(keys, salt=salt)


def read_token(salt: str, token: str, max_age: int) -> dict[str, Any] | None:
    try:
        data = serializer(salt).loads(token, max_age=max_age)
    except BadData:
        return None
    return data if isinstance(data, dict) else None


def password_fingerprint(user: User) -> str:
    """Changes whenever the password or the auth version does (a reset, a change, a rehash)."""
    material = f"{user.id}:{user.auth_version}:{user.password_hash}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def reset_payload(user: User) -> dict[str, Any]:
    return {"u": user.id, "f": password_fingerprint(user)}


def reset_token(user: User) -> str:
    return str(serializer(RESET_SALT).dumps(reset_payload(user)))


def verification_payload(user: User) -> dict[str, Any]:
    return {"u": user.id, "e": user.email}


def verification_token(user: User) -> str:
    return str(serializer(VERIFY_SALT).dumps(verification_payload(user)))


def user_for_reset(session: DbSession, token: str | None) -> User:
    """The user a live reset token is for; InvalidLink for anything else."""
    data = read_token(RESET_SALT, token, RESET_MAX_AGE) if token else None
    user = session.get(User, data["u"]) if data and isinstance(data.get("u"), int) else None
    if user is None or data is None or data.get("f") != password_fingerprint(user):
        raise InvalidLink(invalid_link_message())
    return user


def invalid_link_message() -> str:
    return _("El enlace no es válido, ya se usó o venció. Pedí uno nuevo.")


# --- password reset ------------------------------------------------------------------------------


def request_password_reset(session: DbSession, cache: Cache, email: str) -> None:
    """Queue a reset link to the account with this address, if there is one (and no link went
    to it in the last minute). Raises nothing about the address: the caller answers the same
    either way. Commits, then wakes the sending."""
    user = user_by_email(session, email)
    if user is None or not first_in_interval(cache, RESET_KIND, user.email):
        session.commit()
        return
    task_id = queue_account_mail(session, user, RESET_KIND, url=reset_url(user))
    session.commit()
    wake_task(task_id)


def reset_url(user: User) -> str:
    return public_url("auth.reset_link", token=reset_token(user))


def reset_password(
    session: DbSession, token: str | None, password: str, end_sessions: Callable[[User], None]
) -> User:
    """The token's user gets `password`; every session and remember-me cookie of theirs ends
    (`end_sessions`, which bumps the auth version), and the token with them. The link came
    through the mailbox, so the address counts as verified. Commits.

    Raises InvalidLink, or ValidationFailed (field "password") for a password the policy
    refuses."""
    user = user_for_reset(session, token)
    check_new_password(session, user, password)
    user.password_hash = hash_password(password)
    mark_verified(session, user)
    record_account_event(session, user, "auth.password_reset")
    end_sessions(user)
    session.commit()
    return user


def check_new_password(session: DbSession, user: User, password: str) -> None:
    """The policy for an existing account: not its email, not the name of any of its
    businesses (nor the person's), not guessable. ValidationFailed on field "password"."""
    names = [user.name, *organization_names(session, user)]
    if problem := password_problem(password, user.email, names):
        raise ValidationFailed(problem, field="password")


def organization_names(session: DbSession, user: User) -> list[str]:
    rows = session.execute(
        select(Organization.legal_name, Organization.trade_name)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user.id)
    )
    return [name for row in rows for name in row if name]


# --- email verification --------------------------------------------------------------------------


def confirm_email(session: DbSession, user: User, token: str) -> bool:
    """Mark `user`'s address verified with a token sent to it, and activate the invitations
    that were waiting for it. True when this confirmed it, False when it already was. Commits.

    Raises InvalidLink (bad, expired, or for an address the account no longer has) and
    Forbidden when the link is another account's."""
    data = read_token(VERIFY_SALT, token, VERIFY_MAX_AGE)
    if data is None or not isinstance(data.get("u"), int):
        raise InvalidLink(invalid_link_message())
    if data["u"] != user.id:
        raise Forbidden(
            _(
                "Este enlace confirma el email de otra cuenta. Salí e ingresá con la cuenta "
                "que lo pidió."
            )
        )
    if data.get("e") != user.email:
        raise InvalidLink(invalid_link_message())
    newly = user.email_verified_at is None
    mark_verified(session, user)
    session.commit()
    return newly


def mark_verified(session: DbSession, user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    activate_held_memberships(session, user)


@across_organizations  # the invitations belong to other organizations
def activate_held_memberships(session: DbSession, user: User) -> None:
    joined = session.execute(
        update(Membership)
        .where(Membership.user_id == user.id, Membership.status == MembershipStatus.PENDING)
        .values(status=MembershipStatus.ACTIVE, accepted_at=utcnow(), invite_token_hash=None)
        .returning(Membership.id, Membership.organization_id)
    )
    for membership_id, organization_id in joined.all():
        subject = ("membership", membership_id)
        record_event(session, organization_id, "membership.accepted", user, subject)


def hold_invitation(membership: Membership, user: User) -> None:
    """Bind the invitation to `user` (its link is used up); it takes effect now if their
    address is verified, else when they confirm it. NotFound for another address's link."""
    bind_invitation(membership, user)
    if user.email_verified_at is None:
        membership.status = MembershipStatus.PENDING
        membership.accepted_at = None


def queue_verification(session: DbSession, user: User) -> int | None:
    """The verification email, in the caller's transaction (flushed first: the user needs an
    id). The caller commits, then wakes the returned task."""
    session.flush()
    return queue_account_mail(session, user, VERIFY_KIND, url=verification_url(user))


def verification_url(user: User) -> str:
    return public_url("auth.verify_email", token=verification_token(user))


def resend_verification(session: DbSession, cache: Cache, user: User) -> bool:
    """Another verification email, unless one went out in the last minute (False then).
    Commits, then wakes the sending."""
    if user.email_verified_at is not None or not first_in_interval(cache, VERIFY_KIND, user.email):
        return False
    task_id = queue_verification(session, user)
    session.commit()
    wake_task(task_id)
    return True


def ensure_email_verified(user: User) -> None:
    if user.email_verified_at is None:
        raise EmailNotVerified(
            _(
                "Antes de cargar certificados o crear claves de API, confirmá tu email "
                "(%(email)s): abrí el enlace que te enviamos o pedí otro con «Reenviar».",
                email=user.email,
            )
        )


def verified_email_required(view: F) -> F:
    """For actions that reach ARCA or hand out credentials: a confirmed address first. Goes
    below `role_required` (which makes sure someone is logged in)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        ensure_email_verified(current_user)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


# --- sign-up with an address that has an account -----------------------------------------------


def notify_signup_attempt(session: DbSession, cache: Cache, user: User) -> int | None:
    """Tell an account's owner that someone tried to sign up with their address (instead of
    telling the person on the form). In the caller's transaction; None if one went out in the
    last minute."""
    if not first_in_interval(cache, SIGNUP_ATTEMPT_KIND, user.email):
        return None
    urls = {
        "url": public_url("auth.login"),
        "reset_url": public_url("auth.forgot_password"),
    }
    return queue_account_mail(session, user, SIGNUP_ATTEMPT_KIND, **urls)


def spend_like_a_sign_up(password: str) -> None:
    """Hash the password and throw it away: a sign-up with a taken address costs the same
    argon2 time as a new account, so the answer's timing doesn't tell them apart."""
    hash_password(password)


# --- the messages --------------------------------------------------------------------------------


def subjects() -> dict[str, str]:
    return {
        RESET_KIND: _("Cambiá tu contraseña de Talonario"),
        VERIFY_KIND: _("Confirmá tu email en Talonario"),
        SIGNUP_ATTEMPT_KIND: _("Alguien intentó crear una cuenta de Talonario con tu email"),
    }


def templates() -> dict[str, str]:
    return {
        RESET_KIND: "mail/account_reset",
        VERIFY_KIND: "mail/account_verify",
        SIGNUP_ATTEMPT_KIND: "mail/account_signup_attempt",
    }


def queue_account_mail(session: DbSession, user: User, kind: str, **facts: str) -> int | None:
    """One message to the account's address, in its language, queued in the caller's
    transaction under one of the account's organizations (the outbox keeps mail per
    organization). None (nothing queued, logged) for an account without any."""
    organization_id = account_organization_id(session, user)
    if organization_id is None:
        log.warning("user %s has no organization: %s email not queued", user.id, kind)
        return None
    locale = user.locale if user.locale in LANGUAGES else DEFAULT_LOCALE
    with force_locale(locale):
        context = {"name": user.name, "email": user.email, **facts}
        message = build_message(
            to=[user.email],
            subject=subjects()[kind],
            text=render_template(f"{templates()[kind]}.txt", **context),
            html=render_template(f"{templates()[kind]}.html", **context),
        )
    return queue_mail(session, organization_id, message, kind).task_id


def account_organization_id(session: DbSession, user: User) -> int | None:
    return session.scalar(
        select(Membership.organization_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.id)
        .limit(1)
    )


def user_by_email(session: DbSession, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def first_in_interval(cache: Cache, kind: str, email: str) -> bool:
    # Hashed so the address never sits in Redis in the clear.
    digest = hashlib.sha256(f"{kind}|{normalize_email(email)}".encode()).hexdigest()
    return cache.add(f"auth:account-mail:{digest}", b"1", MAIL_INTERVAL_SECONDS)


def wake_task(task_id: int | None) -> None:
    if task_id is not None:
        wake([task_id])
