"""The audit trail: services record events in the session they commit their work with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from blueprints.audit.models import AuditEvent
from blueprints.auth.models import User
from core.db import DbSession

if TYPE_CHECKING:  # the API's keys import this module (they record their own creation)
    from blueprints.api.models import ApiKey

CLI_ACTOR = "cli"


def record_event(
    session: DbSession,
    organization_id: int,
    action: str,
    actor: User | ApiKey | None,
    subject: tuple[str, int] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to `session` (not committed: it lands with the work it describes).

    `actor` None means a command-line operation; an API key is named by its name and prefix,
    its id kept in `details["api_key_id"]`. `details` must hold no secret.
    """
    details = dict(details or {})
    if actor is not None and not isinstance(actor, User):
        details["api_key_id"] = actor.id
    event = AuditEvent(
        organization_id=organization_id,
        user_id=actor.id if isinstance(actor, User) else None,
        actor=actor_name(actor),
        action=action,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        details=details,
    )
    session.add(event)
    return event


def actor_name(actor: User | ApiKey | None) -> str:
    if actor is None:
        return CLI_ACTOR
    return actor.email if isinstance(actor, User) else actor.actor_label


def list_events(session: DbSession, organization_id: int, limit: int = 50) -> list[AuditEvent]:
    """The organization's latest events, newest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
