"""The audit trail: services record events in the session they commit their work with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from sqlalchemy import insert, select

from blueprints.audit.chain import append, plain_details
from blueprints.audit.models import AuditEvent
from blueprints.auth.models import User
from core.db import DbSession, utcnow

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
    its id kept in `details["api_key_id"]`. `details` must hold no secret. Inside a request
    the client's address and browser are kept too. The entry is chained when it is flushed.
    """
    event = build_event(organization_id, action, actor, subject, details)
    session.add(event)
    return event


def record_events(session: DbSession, events: list[AuditEvent]) -> None:
    """Add many events (a batch's outcomes) in one INSERT: chained now, in the caller's
    transaction. The ORM would insert them one by one on SQLite (it reads each id back)."""
    by_organization: dict[int, list[AuditEvent]] = {}
    for event in events:
        by_organization.setdefault(event.organization_id, []).append(event)
    for organization_id in sorted(by_organization):
        append(session, organization_id, by_organization[organization_id])
    columns = [column.key for column in AuditEvent.__table__.columns if column.key != "id"]
    rows = [{key: getattr(event, key) for key in columns} for event in events]
    if rows:
        session.execute(insert(AuditEvent), rows)


def build_event(
    organization_id: int,
    action: str,
    actor: User | ApiKey | None,
    subject: tuple[str, int] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """An entry as `record_event` adds it, not added to any session."""
    details = dict(details or {})
    if actor is not None and not isinstance(actor, User):
        details["api_key_id"] = actor.id
    address, user_agent = request_origin()
    return AuditEvent(
        organization_id=organization_id,
        user_id=actor.id if isinstance(actor, User) else None,
        actor=actor_name(actor),
        action=action,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        details=plain_details(details),
        address=address,
        user_agent=user_agent,
        created_at=utcnow(),
    )


def request_origin() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    agent = request.headers.get("User-Agent")
    return request.remote_addr, agent[:255] if agent else None


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
