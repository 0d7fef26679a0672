"""Fan-out and delivery, as durable requests (`core.tasks`).

- the events' fan-out (`core.events`, one request per emitted batch) calls `fan_out`: one
  `webhook_deliveries` row and one "webhooks.deliver" request (key "delivery:<id>") per
  enabled endpoint subscribed to the event's type, all in one commit. Run twice, it adds
  nothing (a delivery per event and endpoint is looked up first).
- "webhooks.deliver": POST the body, signed (Standard Webhooks), connect timeout 3 s, read
  10 s, no redirects, through the SSRF guard. A 2xx delivers; anything else is retried with
  exponential back-off and jitter (30 s, 1 min, 2 min … at most 6 h apart) for 3 days; then
  the delivery fails and, if the endpoint has had nothing but failures for 3 days, the
  endpoint is disabled. Each POST is a `webhook_attempts` row (headers sent, answer, latency,
  error), written in the commit that updates the delivery's summary of its last attempt.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

import requests
from sqlalchemy import select

from blueprints.audit.services import record_event
from blueprints.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from blueprints.webhooks.notices import notify_disabled
from blueprints.webhooks.secrets import endpoint_aad
from blueprints.webhooks.signing import headers
from blueprints.webhooks.ssrf import guarded_session
from core.crypto import get_keyring
from core.db import DbSession, utcnow
from core.events import Event, listen
from core.metrics import count_webhook_attempt
from core.tasks import Again, Retry, Task, handles, submit, wake

DELIVER = "webhooks.deliver"
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 10.0
RESPONSE_KEEP = 1024
USER_AGENT = "Talonario-Webhooks/1"
GIVE_UP = dt.timedelta(days=3)
RETRY = Retry(
    max_attempts=10_000,  # the give-up time decides
    give_up_seconds=GIVE_UP.total_seconds(),
    base_seconds=30,
    ceiling_seconds=6 * 3600,
)


def body_of(event: Event) -> str:
    """The JSON the receiver gets: the Standard Webhooks envelope."""
    document = {
        "type": event.type,
        "timestamp": event.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return endpoint.enabled and (event_type in endpoint.events or "*" in endpoint.events)


def add_delivery(
    session: DbSession, endpoint: WebhookEndpoint, event: Event
) -> tuple[int, int | None]:
    """A delivery of the event to the endpoint and its request, in the caller's transaction;
    returns the delivery's id and the task's (for `wake` after the commit)."""
    delivery = WebhookDelivery(
        organization_id=event.organization_id,
        endpoint_id=endpoint.id,
        event_id=event.id,
        request_body=body_of(event),
        status=DeliveryStatus.PENDING,
        attempts=0,
    )
    session.add(delivery)
    session.flush()
    task_id = submit(
        session,
        DELIVER,
        {"delivery_id": delivery.id},
        organization_id=event.organization_id,
        key=f"delivery:{delivery.id}",
    )
    return delivery.id, task_id


@listen("webhooks")
def fan_out(session: DbSession, events: list[Event]) -> list[int]:
    """A delivery per enabled endpoint subscribed to each event's type (none twice)."""
    if not events:
        return []
    organization_id = events[0].organization_id
    event_ids = [event.id for event in events]
    endpoints = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.organization_id == organization_id,
            WebhookEndpoint.enabled.is_(True),
        )
    ).all()
    done = {
        (row.event_id, row.endpoint_id)
        for row in session.execute(
            select(WebhookDelivery.event_id, WebhookDelivery.endpoint_id).where(
                WebhookDelivery.event_id.in_(event_ids)
            )
        )
    }
    added = [
        add_delivery(session, endpoint, event)
        for event in events
        for endpoint in endpoints
        if subscribed(endpoint, event.type) and (event.id, endpoint.id) not in done
    ]
    return [task_id for _delivery_id, task_id in added if task_id is not None]


def secrets_of(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The endpoint's signing secrets (decrypted here and nowhere else): the current one, and
    the previous one during a rotation's overlap."""
    keyring, bound = get_keyring(), endpoint_aad(endpoint)
    secrets = [keyring.decrypt(endpoint.secret_encrypted, bound).decode()]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        secrets.append(keyring.decrypt(endpoint.previous_secret_encrypted, bound).decode())
    return secrets


@dataclass(frozen=True)
class Exchange:
    """One POST as it happened: what came back (status, first KB), how long it took, or why
    nothing came back."""

    status: int | None
    body: str
    latency_ms: int
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def request_headers(
    message_id: str, now: dt.datetime, body: str, secrets: list[str]
) -> dict[str, str]:
    """Every header the POST carries (signed ones and the user agent): sent, and recorded on
    the attempt as sent (signatures are not secrets)."""
    return {**headers(message_id, now, body, secrets), "user-agent": USER_AGENT}


def post(url: str, body: str, sent: dict[str, str]) -> Exchange:
    """One attempt, with exactly the headers `sent`."""
    started = time.monotonic()
    try:
        with guarded_session() as http:
            response = http.post(
                url,
                data=body.encode(),
                headers=sent,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
                stream=True,
            )
            try:
                raw = response.raw.read(RESPONSE_KEEP, decode_content=True) or b""
            finally:
                response.close()
        return Exchange(response.status_code, _storable(raw), _since(started), None)
    except (requests.RequestException, OSError) as error:
        return Exchange(
            None, "", _since(started), f"{type(error).__name__}: {_reason(error)}"[:500]
        )


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _storable(raw: bytes) -> str:
    """The receiver's bytes as text a PostgreSQL TEXT column takes (NUL is refused there)."""
    return raw.decode("utf-8", "replace").replace("\x00", "\ufffd")


def _reason(error: BaseException) -> str:
    """The innermost cause (requests wraps the guard's refusal in two layers)."""
    while error.__context__ is not None and not isinstance(error, ConnectionRefusedError):
        error = error.__context__
    return str(error)


def _give_up(session: DbSession, task: Task, why: str) -> None:
    delivery = session.get(WebhookDelivery, int(task.payload["delivery_id"]))
    if delivery is None:
        return
    delivery.status, delivery.last_error = DeliveryStatus.FAILED, why
    endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
    notices = disable_and_tell(session, endpoint, utcnow())
    session.commit()  # with the task's own "failed" (the caller's commit then finds nothing)
    wake(notices)


def disable_and_tell(session: DbSession, endpoint: WebhookEndpoint, now: dt.datetime) -> list[int]:
    """`disable_if_failing`, and when it did, the owners' and admins' emails (in the caller's
    transaction); returns their tasks, to wake after the commit."""
    if not disable_if_failing(endpoint, now):
        return []
    details = {"url": endpoint.url, "reason": "failing"}
    subject = ("webhook_endpoint", endpoint.id)
    record_event(session, endpoint.organization_id, "webhook.disabled", None, subject, details)
    return notify_disabled(session, endpoint)


def disable_if_failing(endpoint: WebhookEndpoint, now: dt.datetime) -> bool:
    """Disable the endpoint after GIVE_UP of nothing but failures."""
    if endpoint.enabled and endpoint.failing_since and now - endpoint.failing_since >= GIVE_UP:
        endpoint.enabled = False
        endpoint.disabled_reason = "failing"
        return True
    return False


@handles(DELIVER, give_up=_give_up, retry=RETRY)
def deliver(session: DbSession, task: Task) -> Again | None:
    delivery = session.get(WebhookDelivery, int(task.payload["delivery_id"]))
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
    if not endpoint.enabled:
        delivery.status, delivery.last_error = DeliveryStatus.FAILED, "endpoint disabled"
        session.commit()
        return None
    sent_at = utcnow()
    url, body, message_id = endpoint.url, delivery.request_body, delivery.message_id
    sent = request_headers(message_id, sent_at, body, secrets_of(endpoint, sent_at))
    session.commit()  # no transaction held across the HTTP call
    exchange = post(url, body, sent)
    count_webhook_attempt(exchange.status)
    delivery = session.get_one(WebhookDelivery, delivery.id)
    endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
    record_attempt(session, delivery, sent, exchange, sent_at)
    now = utcnow()
    if exchange.succeeded:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
        endpoint.failing_since = None
        session.commit()
        return None
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    notices = disable_and_tell(session, endpoint, now)
    session.commit()
    wake(notices)
    return Again(exchange.error or f"HTTP {exchange.status}")


def record_attempt(
    session: DbSession,
    delivery: WebhookDelivery,
    sent: dict[str, str],
    exchange: Exchange,
    sent_at: dt.datetime,
) -> WebhookAttempt:
    """The attempt's row, and the delivery's summary of its last attempt (the list shows it),
    in the caller's transaction."""
    delivery.attempts += 1
    delivery.response_status, delivery.response_body = exchange.status, exchange.body
    delivery.latency_ms, delivery.last_error = exchange.latency_ms, exchange.error
    attempt = WebhookAttempt(
        organization_id=delivery.organization_id,
        delivery_id=delivery.id,
        attempt=delivery.attempts,
        request_headers=sent,
        response_status=exchange.status,
        response_body=exchange.body,
        latency_ms=exchange.latency_ms,
        error=exchange.error,
        created_at=sent_at,
    )
    session.add(attempt)
    return attempt
