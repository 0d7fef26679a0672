"""Domain events and signed webhooks (issue #14): every delivery verified by the reference
Standard Webhooks library on a real HTTP receiver; retries; the SSRF guard; the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from blueprints.customers.services import fields_of, get_customer, update_customer
from blueprints.invoices.bulk import start_bulk
from blueprints.webhooks import services
from blueprints.webhooks.delivery import RETRY, disable_if_failing
from blueprints.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from blueprints.webhooks.ssrf import UnsafeUrl, check_url
from core.db import db, utcnow
from core.events import Event
from core.tasks import backoff, run_worker
from tests.integration.test_exports import member_client
from tests.integration.test_invoices import COFFEE, authorize, certified, customer, draft
from tests.integration.webhooks.conftest import Receiver
from tests.tasks import run_until_settled
from tests.web import csrf_token


def endpoint_for(organization_id: int, url: str, events: list[str]) -> tuple[int, str]:
    endpoint = services.create_endpoint(db.session, organization_id, url, events, "ERP")
    return endpoint.id, services.reveal_secret(endpoint)


def verified(receiver: Receiver, secret: str) -> list[dict[str, object]]:
    """Every request the receiver got, checked by the reference library (raises if not)."""
    return [
        dict(Webhook(secret).verify(request.body, request.headers)) for request in receiver.requests
    ]


def test_each_authorization_is_delivered_signed_once(app: Flask, receiver: Receiver) -> None:
    with app.app_context():
        organization_id = certified()
        _endpoint_id, secret = endpoint_for(organization_id, receiver.url, ["invoice.authorized"])
        invoices = [authorize(draft(organization_id, [COFFEE]).id) for _ in range(4)]
        assert all(invoice.cae for invoice in invoices)
        invoice_ids = sorted(invoice.id for invoice in invoices)
        run_until_settled()
        documents = verified(receiver, secret)
        assert len(documents) == 4
        assert {document["type"] for document in documents} == {"invoice.authorized"}
        data = [document["data"] for document in documents]
        assert sorted(item["id"] for item in data) == invoice_ids  # type: ignore[index]
        assert all(item["cae"] for item in data)  # type: ignore[index]
        ids = [request.headers["webhook-id"] for request in receiver.requests]
        assert len(set(ids)) == 4
        delivered = db.session.scalars(select(WebhookDelivery)).all()
        assert {d.status for d in delivered} == {DeliveryStatus.DELIVERED}
        assert all(d.attempts == 1 and d.latency_ms is not None for d in delivered)


def test_an_endpoint_gets_only_the_events_it_chose(app: Flask, receiver: Receiver) -> None:
    with app.app_context():
        organization_id = certified()
        endpoint_for(organization_id, receiver.url, ["invoice.rejected"])
        authorize(draft(organization_id, [COFFEE]).id)
        run_until_settled()
        assert receiver.requests == []
        assert (
            db.session.scalar(select(func.count()).select_from(Event)) == 2
        )  # created, authorized


def test_a_failing_receiver_is_retried_until_it_answers(app: Flask, receiver: Receiver) -> None:
    receiver.answers = [(500, {}), (503, {})]
    with app.app_context():
        organization_id = certified()
        endpoint_id, secret = endpoint_for(organization_id, receiver.url, ["invoice.authorized"])
        endpoint = services.get_endpoint(db.session, organization_id, endpoint_id)
        delivery_id = services.send_test_event(db.session, endpoint)
        run_until_settled()
        delivery = db.session.get_one(WebhookDelivery, delivery_id)
        assert delivery.status == DeliveryStatus.DELIVERED
        assert delivery.attempts == 3
        assert len(receiver.requests) == 3
        assert len({request.headers["webhook-id"] for request in receiver.requests}) == 1
        assert [d["type"] for d in verified(receiver, secret)] == ["webhook.test"] * 3
        endpoint = db.session.get_one(WebhookEndpoint, endpoint_id)
        assert endpoint.failing_since is None and endpoint.enabled


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(
    app: Flask, receiver: Receiver
) -> None:
    with app.app_context():
        organization_id = certified()
        endpoint_id, old = endpoint_for(organization_id, receiver.url, ["invoice.authorized"])
        endpoint = services.get_endpoint(db.session, organization_id, endpoint_id)
        new = services.rotate_secret(db.session, endpoint)
        assert new != old
        services.send_test_event(db.session, endpoint)
        run_until_settled()
        assert verified(receiver, old) and verified(receiver, new)
        endpoint = services.get_endpoint(db.session, organization_id, endpoint_id)
        endpoint.previous_secret_expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
        receiver.requests.clear()
        services.send_test_event(db.session, endpoint)
        run_until_settled()
        assert verified(receiver, new)
        with pytest.raises(Exception, match="signature"):
            verified(receiver, old)


def test_a_redirect_is_not_followed(app: Flask, receiver: Receiver) -> None:
    receiver.answers = [(302, {"location": receiver.url + "/elsewhere"})] * 3
    with app.app_context():
        organization_id = certified()
        endpoint_id, _secret = endpoint_for(organization_id, receiver.url, ["invoice.authorized"])
        endpoint = services.get_endpoint(db.session, organization_id, endpoint_id)
        delivery_id = services.send_test_event(db.session, endpoint)
        run_worker(burst=True)  # one attempt; its retry waits
        delivery = db.session.get_one(WebhookDelivery, delivery_id)
        assert [request.path for request in receiver.requests] == ["/hooks"]
        assert delivery.response_status == 302
        assert delivery.status == DeliveryStatus.PENDING  # retried later, never redirected


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hooks",
        "http://localhost/hooks",
        "http://[::1]/hooks",
        "ftp://example.com/hooks",
        "http://[x/hooks",  # not a URL: a message, not a 500
        "http://example.com:70000/hooks",  # no such port
    ],
)
def test_private_addresses_are_refused_when_saved(app: Flask, url: str) -> None:
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    with app.app_context():
        organization_id = certified()
        with pytest.raises(UnsafeUrl):
            services.create_endpoint(db.session, organization_id, url, ["invoice.authorized"])
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_production_wants_https(app: Flask) -> None:
    app.config["ARCA_ENVIRONMENT"] = "produccion"
    with app.app_context(), pytest.raises(UnsafeUrl, match="https"):
        check_url("http://example.com/hooks")


def test_a_private_address_is_refused_at_connect_time(app: Flask, receiver: Receiver) -> None:
    """Saved while allowed (as a name that later resolves to loopback would be): the socket's
    address is checked when the delivery connects; nothing reaches the receiver."""
    with app.app_context():
        organization_id = certified()
        url = receiver.url.replace("127.0.0.1", "localhost")
        endpoint_id, _secret = endpoint_for(organization_id, url, ["invoice.authorized"])
        app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
        endpoint = services.get_endpoint(db.session, organization_id, endpoint_id)
        delivery_id = services.send_test_event(db.session, endpoint)
        run_worker(burst=True)  # one attempt; its retry waits
        delivery = db.session.get_one(WebhookDelivery, delivery_id)
        assert receiver.requests == []
        assert delivery.status == DeliveryStatus.PENDING
        assert "private address" in (delivery.last_error or "")


def test_a_redirect_to_loopback_is_refused(app: Flask, receiver: Receiver) -> None:
    """A public-looking endpoint that redirects to 127.0.0.1: redirects are never followed, so
    the loopback target is never called (the guard alone refuses it too)."""
    receiver.answers = [(307, {"location": "http://127.0.0.1:1/admin"})]
    with app.app_context():
        organization_id = certified()
        endpoint_id, _secret = endpoint_for(organization_id, receiver.url, ["invoice.authorized"])
        endpoint = services.get_endpoint(db.session, organization_id, endpoint_id)
        delivery_id = services.send_test_event(db.session, endpoint)
        run_worker(burst=True)  # one attempt; its retry waits
        delivery = db.session.get_one(WebhookDelivery, delivery_id)
        assert delivery.response_status == 307 and delivery.status == DeliveryStatus.PENDING
        app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
        with pytest.raises(UnsafeUrl):
            check_url("http://127.0.0.1:1/admin")


def test_webhooks_retry_for_three_days_then_disable_the_endpoint(app: Flask) -> None:
    with app.app_context():
        delays = [backoff(attempt, RETRY) for attempt in (1, 2, 3, 20)]
        assert 24 <= delays[0] <= 36 and 48 <= delays[1] <= 72 and 96 <= delays[2] <= 144
        assert delays[3] <= 6 * 3600 * 1.2
        assert RETRY.give_up_seconds == 3 * 24 * 3600
        endpoint = WebhookEndpoint(enabled=True, failing_since=utcnow() - dt.timedelta(days=3))
        assert disable_if_failing(endpoint, utcnow())
        assert not endpoint.enabled and endpoint.disabled_reason == "failing"


def test_the_pages_create_test_and_resend(app: Flask, receiver: Receiver) -> None:
    with app.app_context():
        organization_id = certified()
        other_id = certified()
        other, _secret = endpoint_for(other_id, receiver.url, ["invoice.authorized"])
    client = member_client(app, organization_id, "duena@example.com")
    page = client.get("/webhooks/")
    assert page.status_code == 200 and "Agregar un webhook" in page.get_data(as_text=True)
    refused = client.post(
        "/webhooks/",
        data={"csrf_token": csrf_token(client, "/webhooks/"), "url": receiver.url, "events": []},
    )
    assert refused.status_code == 422
    created = client.post(
        "/webhooks/",
        data={
            "csrf_token": csrf_token(client, "/webhooks/"),
            "url": receiver.url,
            "events": ["invoice.authorized", "invoice.rejected"],
            "description": "ERP",
        },
    )
    assert created.status_code == 303
    show = created.headers["Location"]
    token = csrf_token(client, show)
    endpoint_id = int(show.rstrip("/").rsplit("/", 1)[1])
    revealed = client.post(
        f"/webhooks/{endpoint_id}/secret",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert revealed.status_code == 200 and "whsec_" in revealed.get_data(as_text=True)
    assert revealed.headers["Cache-Control"] == "no-store"
    assert "<html" not in revealed.get_data(as_text=True)
    secret = revealed.get_data(as_text=True).split('value="', 1)[1].split('"', 1)[0]
    sent = client.post(f"/webhooks/{endpoint_id}/test", data={"csrf_token": token})
    assert sent.status_code == 303
    with app.app_context():
        run_until_settled()
    log = client.get(show).get_data(as_text=True)
    assert "webhook.test" in log and "Entregado" in log and "Reenviar" in log
    fragment = client.get(f"/webhooks/{endpoint_id}/deliveries", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    with app.app_context():
        first = db.session.scalars(select(WebhookDelivery.id)).one()
    resent = client.post(f"/webhooks/deliveries/{first}/resend", data={"csrf_token": token})
    assert resent.status_code == 303
    with app.app_context():
        run_until_settled()
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2
    assert len(verified(receiver, secret)) == 2
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 2
    # Another organization's endpoint and delivery are not found.
    assert client.get(f"/webhooks/{other}").status_code == 404
    assert client.post(f"/webhooks/{other}/test", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/webhooks/{other}/secret", data={"csrf_token": token}).status_code == 404


ALL_EVENTS = [
    "invoice.created",
    "invoice.authorized",
    "invoice.rejected",
    "customer.created",
    "customer.updated",
    "bulk_authorization.finished",
]


def test_customers_drafts_and_bulk_jobs_emit_their_events(app: Flask, receiver: Receiver) -> None:
    with app.app_context():
        organization_id = certified()
        _endpoint_id, secret = endpoint_for(organization_id, receiver.url, ALL_EVENTS)
        customer_id = customer(organization_id, "30-71111111-1", "1", "Ferretería Uno SA")
        row = get_customer(db.session, organization_id, customer_id)
        update_customer(db.session, row, fields_of(row, legal_name="Ferretería Dos SA"), None)
        ids = [draft(organization_id, [COFFEE]).id for _ in range(3)]
        start_bulk(db.session, organization_id, ids)
        run_until_settled()
        documents = verified(receiver, secret)
        types = [str(document["type"]) for document in documents]
        assert types.count("customer.created") == 1
        assert types.count("customer.updated") == 1
        assert types.count("invoice.created") == 3
        assert types.count("invoice.authorized") == 3
        assert types.count("bulk_authorization.finished") == 1
        by_type = {str(d["type"]): d["data"] for d in documents}
        assert by_type["customer.updated"]["legal_name"] == "Ferretería Dos SA"  # type: ignore[index]
        finished = by_type["bulk_authorization.finished"]
        assert sorted(finished["authorized_ids"]) == ids  # type: ignore[index]
