"""The signed-in person's own account: their password and their logins."""

from __future__ import annotations

from flask_babel import gettext as _

from blueprints.audit.accounts import record_account_event
from blueprints.auth.models import User
from blueprints.auth.recovery import check_new_password
from blueprints.auth.sessions import end_all
from core.db import DbSession
from core.errors import ValidationFailed
from core.security import hash_password, verify_password


def change_password(session: DbSession, user: User, current: str, new: str) -> None:
    """Replace `user`'s password and end every one of their logins, in one commit.

    Raises ValidationFailed when `current` is wrong or `new` is too weak (sign-up's rules).
    Every session row is revoked and `auth_version` bumped, so cookies issued before die,
    this browser's too: the caller signs it in again (`start_session`).
    """
    if not verify_password(user.password_hash, current):
        raise ValidationFailed(_("La contraseña actual no es correcta."), field="current_password")
    check_new_password(session, user, new)  # not the email, a business's name, guessable
    user.password_hash = hash_password(new)
    record_account_event(session, user, "auth.password_changed")
    end_all(session, user)
