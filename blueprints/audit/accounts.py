"""Events of a person's account (sign-in, password, two-factor, sessions): the audit log is
per organization, so each is written to every organization where the person is an active
member; a person in none leaves no entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.organizations.models import Membership, MembershipStatus
from core.db import DbSession
from core.rowsecurity import system_scope


def record_account_event(
    session: DbSession, user: User, action: str, details: dict[str, Any] | None = None
) -> None:
    """Add `action` by `user` to each of the user's organizations' logs, flushed (chained)
    now; the caller commits right after, as with any entry.

    Across organizations by design (a sign-in belongs to none yet; a password change to all of
    the person's): the read and the flush run in the system scope of row-level security."""
    with system_scope(session):
        for organization_id in member_organizations(session, user.id):
            record_event(session, organization_id, action, user, ("user", user.id), details)
        session.flush()


def member_organizations(session: DbSession, user_id: int) -> list[int]:
    """The organizations where the user is an active member."""
    query = select(Membership.organization_id).where(
        Membership.user_id == user_id, Membership.status == MembershipStatus.ACTIVE
    )
    return sorted(session.scalars(query))
