"""Webhook endpoints: create, change, delete, show and rotate the secret, send a test event,
resend a delivery. Every query is scoped to the organization; each function commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import select

from blueprints.api.models import ApiKey
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.webhooks.delivery import add_delivery, secrets_of
from blueprints.webhooks.models import WebhookDelivery, WebhookEndpoint
from blueprints.webhooks.secrets import endpoint_aad
from blueprints.webhooks.signing import new_secret
from blueprints.webhooks.ssrf import check_url
from core.crypto import get_keyring
from core.db import DbSession, utcnow
from core.errors import NotFound, ValidationFailed
from core.events import EVENT_TYPES, Event
from core.tasks import wake

TEST_EVENT = "webhook.test"
Actor = User | ApiKey | None
ROTATION_OVERLAP = dt.timedelta(hours=24)


def _events(events: Sequence[str]) -> list[str]:
    chosen = [event for event in EVENT_TYPES if event in events]
    if not chosen:
        raise ValidationFailed(_("Elegí al menos un evento."), field="events")
    return chosen


def list_endpoints(session: DbSession, organization_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organization_id == organization_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def get_endpoint(session: DbSession, organization_id: int, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.organization_id == organization_id
        )
    )
    if endpoint is None:
        raise NotFound(_("No encontramos ese webhook."))
    return endpoint


def get_delivery(
    session: DbSession, organization_id: int, delivery_id: int, endpoint_id: int | None = None
) -> WebhookDelivery:
    """The organization's delivery (of that endpoint, when given); NotFound otherwise."""
    query = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.organization_id == organization_id
    )
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    delivery = session.scalar(query)
    if delivery is None:
        raise NotFound(_("No encontramos ese envío."))
    return delivery


def create_endpoint(
    session: DbSession,
    organization_id: int,
    url: str,
    events: Sequence[str],
    description: str = "",
    actor: Actor = None,
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (encrypted at rest). Raises UnsafeUrl or
    ValidationFailed."""
    endpoint = WebhookEndpoint(
        organization_id=organization_id,
        url=check_url(url),
        events=_events(events),
        description=description.strip(),
        enabled=True,
        secret_encrypted="",
    )
    session.add(endpoint)
    session.flush()  # the id binds the ciphertext to its row
    endpoint.secret_encrypted = get_keyring().encrypt(new_secret().encode(), endpoint_aad(endpoint))
    audit(session, endpoint, "webhook.created", actor)
    session.commit()
    return endpoint


def update_endpoint(
    session: DbSession,
    endpoint: WebhookEndpoint,
    url: str,
    events: Sequence[str],
    description: str,
    enabled: bool,
    actor: Actor = None,
) -> WebhookEndpoint:
    before = {"url": endpoint.url, "events": list(endpoint.events), "enabled": endpoint.enabled}
    endpoint.url = check_url(url)
    endpoint.events = _events(events)
    endpoint.description = description.strip()
    if enabled and not endpoint.enabled:
        endpoint.failing_since, endpoint.disabled_reason = None, None
    endpoint.enabled = enabled
    changes = {
        name: [old, getattr(endpoint, name)]
        for name, old in before.items()
        if old != getattr(endpoint, name)
    }
    audit(session, endpoint, "webhook.updated", actor, {"changes": changes})
    session.commit()
    return endpoint


def delete_endpoint(session: DbSession, endpoint: WebhookEndpoint, actor: Actor = None) -> None:
    audit(session, endpoint, "webhook.deleted", actor)
    session.delete(endpoint)
    session.commit()


def audit(
    session: DbSession,
    endpoint: WebhookEndpoint,
    action: str,
    actor: Actor,
    details: dict[str, object] | None = None,
) -> None:
    """An audit entry about the endpoint: its URL, never its secret."""
    subject = ("webhook_endpoint", endpoint.id)
    details = {"url": endpoint.url, **(details or {})}
    record_event(session, endpoint.organization_id, action, actor, subject, details)


def reveal_secret(endpoint: WebhookEndpoint) -> str:
    """The current signing secret (owners and admins; the view checks the role)."""
    return secrets_of(endpoint, utcnow())[0]


def rotate_secret(session: DbSession, endpoint: WebhookEndpoint, actor: Actor = None) -> str:
    """A new secret; the old one keeps signing beside it for ROTATION_OVERLAP. Returns the new."""
    secret = new_secret()
    keyring = get_keyring()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    endpoint.secret_encrypted = keyring.encrypt(secret.encode(), endpoint_aad(endpoint))
    audit(session, endpoint, "webhook.secret_rotated", actor)
    session.commit()
    return secret


def send_test_event(session: DbSession, endpoint: WebhookEndpoint) -> int:
    """A "webhook.test" event delivered to this endpoint only; returns the delivery's id."""
    event = Event(
        organization_id=endpoint.organization_id,
        type=TEST_EVENT,
        payload={"endpoint_id": endpoint.id, "message": "Talonario: evento de prueba"},
    )
    session.add(event)
    session.flush()
    return _deliver_now(session, endpoint, event)


def resend(session: DbSession, delivery: WebhookDelivery) -> int:
    """The same event again to the same endpoint, as a new delivery (a new webhook-id)."""
    endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
    event = session.get_one(Event, delivery.event_id)
    return _deliver_now(session, endpoint, event)


def _deliver_now(session: DbSession, endpoint: WebhookEndpoint, event: Event) -> int:
    delivery_id, task_id = add_delivery(session, endpoint, event)
    session.commit()
    if task_id is not None:
        wake([task_id])
    return delivery_id


def event_types(session: DbSession, deliveries: Sequence[WebhookDelivery]) -> dict[int, str]:
    """Each delivery's event type, by event id (one query)."""
    ids = {delivery.event_id for delivery in deliveries}
    if not ids:
        return {}
    rows = session.execute(select(Event.id, Event.type).where(Event.id.in_(ids)))
    return {row.id: row.type for row in rows}
