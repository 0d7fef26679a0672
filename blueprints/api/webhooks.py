"""Webhook endpoints over the API (`webhooks:manage`): list, create, get, change, delete, the
secret (read, rotate), a test event, and the delivery log with resend.

Each view parses, calls the webhooks page's service, serializes: the same SSRF guard (a refused
URL is a 422 on "url"), the same events, the same secret handling (decrypted only by the
service, rotated with a 24 h overlap during which both secrets sign).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, g, url_for
from flask_babel import gettext as _
from flask_openapi3 import Tag
from flask_openapi3.types import ResponseDict
from pydantic import BaseModel

from blueprints.api import api
from blueprints.api.auth import api_actor, api_auth
from blueprints.api.idempotency import idempotent
from blueprints.api.problems import problem, problem_responses, title_for
from blueprints.api.responses import respond
from blueprints.api.schemas.common import decode_cursor, encode_cursor
from blueprints.api.schemas.webhooks import (
    Webhook,
    WebhookChanges,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryPage,
    WebhookDeliveryPath,
    WebhookDeliveryQuery,
    WebhookPage,
    WebhookPath,
    WebhookSecret,
    delivery_of,
    overlap_end,
    webhook_fields,
    webhook_of,
)
from blueprints.webhooks import delivery as _delivery  # noqa: F401 (registers the task kinds)
from blueprints.webhooks import listing, services
from blueprints.webhooks.models import WebhookDelivery as DeliveryRow
from blueprints.webhooks.ssrf import UnsafeUrl
from core.db import db, utcnow
from core.errors import ValidationFailed
from core.inputs import MAX_ID

SCOPE = "webhooks:manage"
TAG = Tag(
    name="Webhooks",
    description="Endpoints that receive the organization's events, signed the Standard Webhooks "
    "way (webhook-id, webhook-timestamp, webhook-signature), and their delivery log.",
)


def documented(status: int, model: type[BaseModel] | None, *problems: int) -> ResponseDict:
    """An operation's responses besides the API's common ones (409: an Idempotency-Key whose
    first request is still running)."""
    responses: ResponseDict = {status: model}
    for code, response in problem_responses(*problems).items():
        responses[code] = response
    return responses


@api.get("/webhooks", tags=[TAG], responses=documented(200, WebhookPage))
@api_auth(SCOPE)
def list_webhooks() -> Response:
    """List webhook endpoints

    Every endpoint of the organization, oldest first, in one page.
    """
    rows = services.list_endpoints(db.session, g.organization_id)
    now = utcnow()
    return respond(WebhookPage(data=[webhook_of(row, now) for row in rows]))


@api.post("/webhooks", tags=[TAG], responses=documented(201, WebhookCreated, 409))
@api_auth(SCOPE)
@idempotent
def create_webhook(body: WebhookCreate) -> Response:
    """Create a webhook endpoint

    Its signing secret (`whsec_…`) comes in the answer; verify each delivery with it (any
    Standard Webhooks library). A URL the SSRF guard refuses is a 422 on `url`.
    """
    try:
        row = services.create_endpoint(
            db.session, g.organization_id, body.url, body.events, body.description, api_actor()
        )
    except UnsafeUrl as error:
        return unsafe(error)
    created = WebhookCreated(**webhook_fields(row, utcnow()), secret=services.reveal_secret(row))
    location = url_for("api.get_webhook", webhook_id=row.id)
    return private(respond(created, 201, {"Location": location}))


@api.get("/webhooks/<int:webhook_id>", tags=[TAG], responses=documented(200, Webhook))
@api_auth(SCOPE)
def get_webhook(path: WebhookPath) -> Response:
    """Get a webhook endpoint

    Another organization's id is a 404, as an unknown one.
    """
    row = services.get_endpoint(db.session, g.organization_id, path.webhook_id)
    return respond(webhook_of(row, utcnow()))


@api.patch("/webhooks/<int:webhook_id>", tags=[TAG], responses=documented(200, Webhook))
@api_auth(SCOPE)
def update_webhook(path: WebhookPath, body: WebhookChanges) -> Response:
    """Update a webhook endpoint

    Only the fields sent change; the URL is checked again by the SSRF guard. Enabling an
    endpoint Talonario disabled for failing forgets its failures.
    """
    row = services.get_endpoint(db.session, g.organization_id, path.webhook_id)
    sent = body.model_dump(exclude_unset=True)
    try:
        services.update_endpoint(
            db.session,
            row,
            sent.get("url", row.url),
            sent.get("events", row.events),
            sent.get("description", row.description),
            sent.get("enabled", row.enabled),
            api_actor(),
        )
    except UnsafeUrl as error:
        return unsafe(error)
    return respond(webhook_of(row, utcnow()))


@api.delete("/webhooks/<int:webhook_id>", tags=[TAG], responses=documented(204, None))
@api_auth(SCOPE)
def delete_webhook(path: WebhookPath) -> Response:
    """Delete a webhook endpoint

    With its delivery log; deliveries not yet made are dropped.
    """
    row = services.get_endpoint(db.session, g.organization_id, path.webhook_id)
    services.delete_endpoint(db.session, row, api_actor())
    return Response(status=204)


@api.get("/webhooks/<int:webhook_id>/secret", tags=[TAG], responses=documented(200, WebhookSecret))
@api_auth(SCOPE)
def get_webhook_secret(path: WebhookPath) -> Response:
    """Get a webhook endpoint's secret

    The current signing secret, and until when the previous one signs too after a rotation.
    """
    row = services.get_endpoint(db.session, g.organization_id, path.webhook_id)
    secret = services.reveal_secret(row)
    return private(
        respond(WebhookSecret(secret=secret, previous_secret_expires_at=overlap_end(row, utcnow())))
    )


@api.post(
    "/webhooks/<int:webhook_id>/rotate-secret",
    tags=[TAG],
    responses=documented(200, WebhookSecret, 409),
)
@api_auth(SCOPE)
@idempotent
def rotate_webhook_secret(path: WebhookPath) -> Response:
    """Rotate a webhook endpoint's secret

    A new secret signs from now on; for 24 hours the previous one signs beside it (both in
    `webhook-signature`), so receivers can switch without losing a delivery.
    """
    row = services.get_endpoint(db.session, g.organization_id, path.webhook_id)
    secret = services.rotate_secret(db.session, row, api_actor())
    overlap = overlap_end(row, utcnow())
    return private(respond(WebhookSecret(secret=secret, previous_secret_expires_at=overlap)))


@api.post(
    "/webhooks/<int:webhook_id>/test",
    tags=[TAG],
    responses=documented(202, WebhookDelivery, 409),
)
@api_auth(SCOPE)
@idempotent
def send_webhook_test(path: WebhookPath) -> Response:
    """Send a test event

    A `webhook.test` event to this endpoint only, queued: 202 with its delivery (pending).
    """
    row = services.get_endpoint(db.session, g.organization_id, path.webhook_id)
    delivery_id = services.send_test_event(db.session, row)
    return queued(delivery_id)


@api.get(
    "/webhooks/<int:webhook_id>/deliveries",
    tags=[TAG],
    responses=documented(200, WebhookDeliveryPage),
)
@api_auth(SCOPE)
def list_webhook_deliveries(path: WebhookPath, query: WebhookDeliveryQuery) -> Response:
    """List a webhook endpoint's deliveries

    Newest first, each with its last attempt's answer. Pass `next_cursor` back as `cursor`
    for older ones: deliveries made between pages never make one appear twice.
    """
    row = services.get_endpoint(db.session, g.organization_id, path.webhook_id)
    after = cursor_id(query.cursor)
    page = listing.list_deliveries(db.session, g.organization_id, row.id, after, query.limit)
    more = page.next_cursor
    next_cursor = encode_cursor(more) if more is not None else None
    return respond(WebhookDeliveryPage(data=deliveries_out(page.rows), next_cursor=next_cursor))


@api.post(
    "/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/resend",
    tags=[TAG],
    responses=documented(202, WebhookDelivery, 409),
)
@api_auth(SCOPE)
@idempotent
def resend_webhook_delivery(path: WebhookDeliveryPath) -> Response:
    """Resend a delivery

    The same event again to the same endpoint, as a new delivery (a new `webhook-id`): 202
    with it. The delivery must be this endpoint's.
    """
    found = services.get_delivery(db.session, g.organization_id, path.delivery_id, path.webhook_id)
    return queued(services.resend(db.session, found))


# --- helpers ------------------------------------------------------------------------------------


def queued(delivery_id: int) -> Response:
    """202 with a delivery just queued."""
    row = services.get_delivery(db.session, g.organization_id, delivery_id)
    return respond(deliveries_out([row])[0], 202)


def deliveries_out(rows: Sequence[DeliveryRow]) -> list[WebhookDelivery]:
    types = services.event_types(db.session, rows)
    return [delivery_of(row, types.get(row.event_id, "")) for row in rows]


def unsafe(error: UnsafeUrl) -> Response:
    """The SSRF guard's refusal: a 422 on `url` (the guard's DomainError has no field)."""
    db.session.rollback()
    errors = [{"field": "url", "message": error.message}]
    return problem(422, title_for(422), error.message, errors)


def private(response: Response) -> Response:
    """A secret is never cached by a client or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def cursor_id(cursor: str | None) -> int | None:
    """The delivery id a `next_cursor` stands for; 422 on "cursor" when it is not one."""
    if not cursor:
        return None
    (value,) = decode_cursor(cursor, 1)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise ValidationFailed(_("El cursor no es válido: usá el next_cursor recibido."), "cursor")
    return value
