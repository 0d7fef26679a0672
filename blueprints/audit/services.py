"""The audit trail: services record events in the session they commit their work with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from blueprints.audit.models import AuditEvent
from blueprints.auth.models import User
from core.db import DbSession

CLI_ACTOR = "cli"


def record_event(
    session: DbSession,
    organization_id: int,
    action: str,
    actor: User | None,
    subject: tuple[str, int] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to `session` (not committed: it lands with the work it describes).

    `actor` None means a command-line operation. `details` must hold no secret.
    """
    event = AuditEvent(
        organization_id=organization_id,
        user_id=actor.id if actor else None,
        actor=actor.email if actor else CLI_ACTOR,
        action=action,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        details=details or {},
    )
    session.add(event)
    return event


def list_events(session: DbSession, organization_id: int, limit: int = 50) -> list[AuditEvent]:
    """The organization's latest events, newest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
