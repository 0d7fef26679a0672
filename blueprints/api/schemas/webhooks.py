"""Webhook endpoints in the API: what a client sends to subscribe, and the endpoints, secrets and
deliveries it reads back.

The models only shape the data; whether a URL may be called (the SSRF guard) and which events
are kept is the webhooks service's judgement, the same the page gets. The event types are read
from `core.events.EVENT_TYPES` when a request is validated and when the document is written, so
a new event type needs no change here.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, Field, StrictBool, field_validator
from pydantic.json_schema import JsonDict

from blueprints.api.schemas.common import ApiModel, CursorQuery, Page
from blueprints.webhooks.models import WebhookDelivery as DeliveryRow
from blueprints.webhooks.models import WebhookEndpoint
from core import events as domain_events
from core.inputs import MAX_ID

URL = (
    "Where the events are POSTed, signed the Standard Webhooks way. http or https (https only "
    "when the organization works in produccion); addresses that are loopback, private, "
    "link-local or a cloud's metadata service are refused."
)
EVENTS = "The event types this endpoint receives (at least one)."
DESCRIPTION = "What the endpoint is for, up to 200 characters."


def known_events(values: list[str]) -> list[str]:
    """Each value an event type; the service would silently drop an unknown one."""
    unknown = [value for value in values if value not in domain_events.EVENT_TYPES]
    if unknown:
        raise ValueError(
            _("Eventos posibles: %(events)s.", events=", ".join(domain_events.EVENT_TYPES))
        )
    return values


# The lengths the columns hold; the constraints sit on the types so that they also apply
# inside the optional fields of a PATCH.
Url = Annotated[str, Field(min_length=1, max_length=2000)]
EventTypes = Annotated[list[str], Field(min_length=1), AfterValidator(known_events)]
Description = Annotated[str, Field(max_length=200)]


def event_types_schema(schema: JsonDict) -> None:
    # Read when the document is written: a new event type appears without touching this file.
    schema["items"] = {"type": "string", "enum": list(domain_events.EVENT_TYPES)}


def no_default(schema: JsonDict) -> None:
    # Left out means "unchanged"; null is refused, so the document shows no null default.
    schema.pop("default", None)


def events_schema(schema: JsonDict) -> None:
    event_types_schema(schema)
    no_default(schema)


class WebhookCreate(ApiModel):
    """A new endpoint; its secret is made for it and shown once, in the answer."""

    url: str = Field(
        min_length=1,
        max_length=2000,
        description=URL,
        examples=["https://erp.example.com/talonario/webhooks"],
    )
    events: EventTypes = Field(
        description=EVENTS,
        examples=[["invoice.authorized", "invoice.rejected"]],
        json_schema_extra=event_types_schema,
    )
    description: str = Field("", max_length=200, description=DESCRIPTION, examples=["ERP"])


class WebhookChanges(ApiModel):
    """Some of an endpoint's fields; those left out keep their values.

    The fields are not Optional: null is refused (`not_null`), and a union with None would
    report a wrong value once per member ("enabled.bool", "enabled.none"). Only the fields
    sent are read (`model_fields_set`): the defaults are placeholders, never values."""

    url: Url = Field("", description=URL, json_schema_extra=no_default)
    events: EventTypes = Field(
        default_factory=list, description=EVENTS, json_schema_extra=events_schema
    )
    description: Description = Field("", description=DESCRIPTION, json_schema_extra=no_default)
    enabled: StrictBool = Field(
        True,
        description="false stops deliveries; true turns a disabled endpoint back on (and "
        "forgets its failures).",
        json_schema_extra=no_default,
    )

    @field_validator("url", "events", "description", "enabled", mode="before")
    @classmethod
    def not_null(cls, value: Any) -> Any:
        # Runs only for a value sent: null cannot clear what every endpoint has.
        if value is None:
            raise ValueError(_("Completá este dato."))
        return value


class WebhookPath(BaseModel):
    webhook_id: int = Field(ge=1, le=MAX_ID)


class WebhookDeliveryPath(WebhookPath):
    delivery_id: int = Field(ge=1, le=MAX_ID)


class WebhookDeliveryQuery(CursorQuery):
    """Newest first; `next_cursor` of a page, sent back as `cursor`, gives the older ones."""


class Webhook(BaseModel):
    """An endpoint of the organization that receives its events."""

    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None = Field(
        description='Why Talonario turned it off: "failing" after 3 days of failed deliveries.'
    )
    failing_since: dt.datetime | None = Field(
        description="When its deliveries started failing; null while they succeed."
    )
    previous_secret_expires_at: dt.datetime | None = Field(
        description="After a rotation, until when the previous secret signs beside the new one."
    )
    created_at: dt.datetime


class WebhookPage(Page[Webhook]):
    """The organization's endpoints, all in one page."""


class WebhookCreated(Webhook):
    """A new endpoint and its signing secret: store the secret now (it can be read again with
    GET /api/v1/webhooks/{webhook_id}/secret)."""

    secret: str = Field(description="The signing secret, whsec_…", examples=["whsec_…"])


class WebhookSecret(BaseModel):
    """An endpoint's current signing secret."""

    secret: str = Field(description="whsec_… (Standard Webhooks).", examples=["whsec_…"])
    previous_secret_expires_at: dt.datetime | None = Field(
        description="Until when the previous secret signs too (a rotation's overlap); null "
        "when only this one signs."
    )


class WebhookDelivery(BaseModel):
    """One event sent to one endpoint, with its last attempt's exchange."""

    id: int
    webhook_id: int
    event_id: int
    event_type: str
    message_id: str = Field(
        description="The `webhook-id` header: the same on each retry, new on a resend."
    )
    status: Literal["pending", "delivered", "failed"] = Field(
        description="pending: queued or waiting to retry; failed: given up."
    )
    attempts: int
    response_status: int | None
    response_body: str | None = Field(description="The first KB of the last answer.")
    latency_ms: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


class WebhookDeliveryPage(Page[WebhookDelivery]):
    """A page of an endpoint's deliveries, newest first."""


def webhook_of(row: WebhookEndpoint, now: dt.datetime) -> Webhook:
    return Webhook(**webhook_fields(row, now))


def webhook_fields(row: WebhookEndpoint, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "events": list(row.events),
        "description": row.description,
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "failing_since": row.failing_since,
        "previous_secret_expires_at": overlap_end(row, now),
        "created_at": row.created_at,
    }


def overlap_end(row: WebhookEndpoint, now: dt.datetime) -> dt.datetime | None:
    expires = row.previous_secret_expires_at
    return expires if row.previous_secret_encrypted and expires and expires > now else None


def delivery_of(row: DeliveryRow, event_type: str) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        webhook_id=row.endpoint_id,
        event_id=row.event_id,
        event_type=event_type,
        message_id=row.message_id,
        status=str(row.status),  # type: ignore[arg-type]
        attempts=row.attempts,
        response_status=row.response_status,
        response_body=row.response_body,
        latency_ms=row.latency_ms,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )
