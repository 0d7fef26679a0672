"""The delivery log (issue #14 item 3): one `webhook_attempts` row per POST, shown on the
delivery's page with "Más antiguos" paging, scoped to the organization, and pruned after
`WEBHOOK_LOG_DAYS` (30) days by `prune_log` / `flask webhooks prune`."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from blueprints.webhooks import retention, services
from blueprints.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from blueprints.webhooks.retention import prune_log
from core.db import db, utcnow
from core.events import FAN_OUT, Event
from core.tasks import run_worker, submit
from tests.factories import make_organization
from tests.integration.test_exports import member_client
from tests.integration.webhooks.conftest import Receiver
from tests.tasks import run_until_settled
from tests.web import text_of

DAY = dt.timedelta(days=1)
SENT_HEADERS = {
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "user-agent",
}


def endpoint_of(organization_id: int, url: str) -> WebhookEndpoint:
    return services.create_endpoint(db.session, organization_id, url, ["invoice.authorized"])


def attempts_of(delivery_id: int) -> list[WebhookAttempt]:
    return list(
        db.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.id)
        )
    )


def page_of(endpoint_id: int, delivery_id: int) -> str:
    return f"/webhooks/{endpoint_id}/deliveries/{delivery_id}"


# --- one row per attempt --------------------------------------------------------------------------


def test_two_failures_then_a_success_are_three_attempts_on_the_page(
    app: Flask, receiver: Receiver
) -> None:
    receiver.answers = [(500, {}), (503, {})]
    with app.app_context():
        organization_id = make_organization().id
        endpoint = endpoint_of(organization_id, receiver.url)
        endpoint_id, secret = endpoint.id, services.reveal_secret(endpoint)
        delivery_id = services.send_test_event(db.session, endpoint)
        run_until_settled()
        attempts = attempts_of(delivery_id)
        assert [a.attempt for a in attempts] == [1, 2, 3]
        assert [a.response_status for a in attempts] == [500, 503, 204]
        assert all(a.error is None and a.latency_ms is not None for a in attempts)
        assert all(a.organization_id == organization_id for a in attempts)
        # The receiver's 2.6 KB error body, kept to its first KB; the 204 had none.
        assert [len(a.response_body or "") for a in attempts] == [1024, 1024, 0]
        # Each attempt's headers are the ones the receiver got, and they verify.
        for attempt, received in zip(attempts, receiver.requests, strict=True):
            assert set(attempt.request_headers) == SENT_HEADERS
            assert attempt.request_headers == {k: received.headers[k] for k in SENT_HEADERS}
            Webhook(secret).verify(received.body, attempt.request_headers)
        delivery = db.session.get_one(WebhookDelivery, delivery_id)
        # The delivery's summary is its last attempt, as before.
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
        assert delivery.response_status == 204
        signature = attempts[0].request_headers["webhook-signature"]
    client = member_client(app, organization_id, "duena@example.com")
    log = client.get(f"/webhooks/{endpoint_id}")
    assert page_of(endpoint_id, delivery_id) in log.get_data(as_text=True)
    assert "3 intentos" in text_of(log)
    page = client.get(page_of(endpoint_id, delivery_id))
    assert page.status_code == 200
    text = text_of(page)
    for number, status in ((1, 500), (2, 503), (3, 204)):
        assert f"#{number}" in text and f"HTTP {status}" in text
    assert text.index("#3") < text.index("#2") < text.index("#1")  # the last one first
    assert f"webhook-signature: {signature}" in text and "user-agent: Talonario-Webhooks/1" in text
    assert '"type":"webhook.test"' in page.get_data(as_text=True).replace("&#34;", '"')
    assert "Entregado" in text
    fragment = client.get(page_of(endpoint_id, delivery_id), headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and "HTTP 503" in body
    assert 'id="delivery-' in body and "hx-trigger" not in body  # finished: no more polling


def test_an_unreachable_receiver_is_an_attempt_with_its_error(app: Flask) -> None:
    with app.app_context():
        organization_id = make_organization().id
        endpoint = endpoint_of(organization_id, "http://127.0.0.1:9/hooks")  # discard: refused
        endpoint_id = endpoint.id
        delivery_id = services.send_test_event(db.session, endpoint)
        run_worker(burst=True)  # one attempt; its retry waits
        [attempt] = attempts_of(delivery_id)
        assert attempt.attempt == 1 and attempt.response_status is None
        assert attempt.error and "Connection" in attempt.error
        assert set(attempt.request_headers) == SENT_HEADERS
        error = attempt.error
    client = member_client(app, organization_id, "duena@example.com")
    page = client.get(page_of(endpoint_id, delivery_id))
    text = text_of(page)
    assert page.status_code == 200 and "#1" in text and error in text and "Pendiente" in text
    assert "hx-trigger" in page.get_data(as_text=True)  # pending: the attempts poll


def test_the_response_is_shown_escaped(app: Flask) -> None:
    with app.app_context():
        organization_id = make_organization().id
        endpoint_id, delivery_id = delivery_with_attempts(organization_id, 1, utcnow())
        attempt = attempts_of(delivery_id)[0]
        attempt.response_body = "<script>alert('x')</script>"
        db.session.commit()
    client = member_client(app, organization_id, "duena@example.com")
    html = client.get(page_of(endpoint_id, delivery_id)).get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


# --- paging ---------------------------------------------------------------------------------------


def test_long_logs_page_to_older_entries(app: Flask) -> None:
    with app.app_context():
        organization_id = make_organization().id
        endpoint_id, delivery_id = delivery_with_attempts(organization_id, 55, utcnow())
        event_id = db.session.get_one(WebhookDelivery, delivery_id).event_id
        for _ in range(54):
            db.session.add(finished_delivery(organization_id, endpoint_id, event_id, utcnow()))
        db.session.commit()
        attempt_ids = [a.id for a in attempts_of(delivery_id)]
    client = member_client(app, organization_id, "duena@example.com")
    first = client.get(page_of(endpoint_id, delivery_id)).get_data(as_text=True)
    assert first.count('id="attempt-') == 50 and "#55" in first and "#5<" not in first
    older = f"{page_of(endpoint_id, delivery_id)}?after={attempt_ids[5]}"
    assert f'href="{older}"' in first and "Más antiguos" in first
    rest = client.get(older, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert rest.count('id="attempt-') == 5 and "#5<" in rest and "#6<" not in rest
    assert "Más recientes" in rest and "Más antiguos" not in rest
    log = client.get(f"/webhooks/{endpoint_id}").get_data(as_text=True)
    assert log.count('<tr id="delivery-') == 50 and "Más antiguos" in log
    older_log = client.get(f"/webhooks/{endpoint_id}/deliveries?after={delivery_id + 5}")
    assert older_log.get_data(as_text=True).count('<tr id="delivery-') == 5
    junk = client.get(f"{page_of(endpoint_id, delivery_id)}?after=²")  # not an id: the first page
    assert junk.status_code == 200 and junk.get_data(as_text=True).count('id="attempt-') == 50


# --- tenancy --------------------------------------------------------------------------------------


def test_another_organizations_delivery_is_not_found(app: Flask) -> None:
    with app.app_context():
        own_id = make_organization().id
        own_endpoint, own_delivery = delivery_with_attempts(own_id, 1, utcnow())
        second_endpoint, _delivery = delivery_with_attempts(own_id, 1, utcnow())
        other_endpoint, other_delivery = delivery_with_attempts(
            make_organization(legal_name="Ajena Secreta SA").id, 1, utcnow()
        )
    client = member_client(app, own_id, "duena@example.com")
    assert client.get(page_of(own_endpoint, own_delivery)).status_code == 200
    for endpoint_id, delivery_id in (
        (own_endpoint, other_delivery),  # another organization's delivery under an own endpoint
        (other_endpoint, other_delivery),  # another organization's altogether
        (second_endpoint, own_delivery),  # an own delivery under another own endpoint
    ):
        response = client.get(page_of(endpoint_id, delivery_id))
        assert response.status_code == 404
        assert "Ajena" not in response.get_data(as_text=True)


# --- retention ------------------------------------------------------------------------------------


def test_prune_removes_finished_rows_older_than_30_days(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches per table
    with app.app_context():
        now = utcnow()
        old, recent = now - 31 * DAY, now - 29 * DAY
        organization_id = make_organization().id
        endpoint_id, pending = delivery_with_attempts(organization_id, 2, old)
        db.session.get_one(WebhookDelivery, pending).status = DeliveryStatus.PENDING
        _endpoint, recent_one = delivery_with_attempts(organization_id, 2, recent)
        gone = [delivery_with_attempts(organization_id, 3, old, endpoint_id)[1] for _ in range(3)]
        db.session.get_one(WebhookDelivery, gone[0]).status = DeliveryStatus.FAILED
        # Finished 31 days after it began, but its last attempt is 29 days old: kept whole
        # for now but for the attempt older than 30 days.
        _endpoint, straddling = delivery_with_attempts(organization_id, 1, old, endpoint_id)
        add_attempt(db.session.get_one(WebhookDelivery, straddling), recent)
        spent = event(organization_id, old)
        of_pending_fan_out = event(organization_id, old)
        submit(
            db.session,
            FAN_OUT,
            {"event_ids": [of_pending_fan_out]},
            organization_id=organization_id,
        )
        keyed = event(organization_id, old, key=f"certificate.expired:{organization_id}")
        young = event(organization_id, recent)
        db.session.commit()
        gone_events = [db.session.get_one(WebhookDelivery, d).event_id for d in gone]

        assert prune_log(db.session, now) == 9 + 1 + 3 + 4  # attempts, deliveries, events
        deliveries = set(db.session.scalars(select(WebhookDelivery.id)))
        assert deliveries == {pending, recent_one, straddling}
        assert len(attempts_of(pending)) == 2 and len(attempts_of(recent_one)) == 2
        assert [a.created_at for a in attempts_of(straddling)] == [recent]
        events = set(db.session.scalars(select(Event.id)))
        assert {spent, *gone_events}.isdisjoint(events)
        assert {of_pending_fan_out, keyed, young} <= events
        assert prune_log(db.session, now) == 0


def test_the_cli_prunes_and_the_setting_decides_how_long(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        organization_id = make_organization().id
        delivery_with_attempts(organization_id, 2, utcnow() - 31 * DAY)
    with monkeypatch.context() as patch:
        patch.setitem(app.config, "WEBHOOK_LOG_DAYS", 40)
        kept = app.test_cli_runner().invoke(args=["webhooks", "prune"])
    assert kept.exit_code == 0 and "pruned 0 rows" in kept.output
    result = app.test_cli_runner().invoke(args=["webhooks", "prune"])
    assert result.exit_code == 0, result.output
    assert "pruned 4 rows: 2 attempts, 1 deliveries, 1 events" in result.output
    with app.app_context():
        assert db.session.scalars(select(WebhookDelivery)).all() == []


# --- rows written directly (as old as a test needs) -----------------------------------------------


def event(organization_id: int, created_at: dt.datetime, key: str | None = None) -> int:
    row = Event(
        organization_id=organization_id,
        type="invoice.authorized",
        payload={"id": 1},
        key=key,
        created_at=created_at,
    )
    db.session.add(row)
    db.session.flush()
    return row.id


def finished_delivery(
    organization_id: int, endpoint_id: int, event_id: int, created_at: dt.datetime
) -> WebhookDelivery:
    return WebhookDelivery(
        organization_id=organization_id,
        endpoint_id=endpoint_id,
        event_id=event_id,
        request_body='{"type":"invoice.authorized"}',
        status=DeliveryStatus.DELIVERED,
        attempts=0,
        created_at=created_at,
    )


def add_attempt(delivery: WebhookDelivery, created_at: dt.datetime) -> None:
    delivery.attempts += 1
    db.session.add(
        WebhookAttempt(
            organization_id=delivery.organization_id,
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            request_headers={"webhook-id": delivery.message_id},
            response_status=500,
            response_body="no",
            latency_ms=12,
            created_at=created_at,
        )
    )


def delivery_with_attempts(
    organization_id: int, attempts: int, created_at: dt.datetime, endpoint_id: int | None = None
) -> tuple[int, int]:
    """(endpoint id, delivery id): a delivered delivery of its own event, its attempts made
    when it was created (no request: nothing runs it)."""
    if endpoint_id is None:
        endpoint_id = endpoint_of(organization_id, "https://93.184.216.34/talonario").id
    delivery = finished_delivery(
        organization_id, endpoint_id, event(organization_id, created_at), created_at
    )
    db.session.add(delivery)
    db.session.flush()
    for _ in range(attempts):
        add_attempt(delivery, created_at)
    db.session.commit()
    return endpoint_id, delivery.id
