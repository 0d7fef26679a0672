"""The rest of issue #14's events and notices: certificate alerts (one email per owner and
admin, once, and a webhook), invoices emailed on authorization when the organization asks,
an endpoint disabled after days of failures (email + dashboard banner), invoice events that
carry the whole API invoice, "invoice.needs_attention", "customer_import.finished"; and,
without Redis, events delivered before the request returns. Real SMTP (aiosmtpd) and a real
HTTP receiver on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from arca.sandbox.faults import drop_after, drop_before
from blueprints.certificates.models import Certificate, CertificateStatus
from blueprints.customers.imports import UploadedCsv, confirm_import, preview_import
from blueprints.customers.models import Customer
from blueprints.invoices.authorization import reconcile_pending
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.organizations.models import Membership, Organization, Role
from blueprints.webhooks import services
from blueprints.webhooks.delivery import GIVE_UP
from blueprints.webhooks.models import WebhookEndpoint
from core.arca import get_arca
from core.db import db, utcnow
from core.events import Event
from core.mail import MailMessage
from core.scheduler import run_now
from core.tasks import run_worker
from tests.conftest import close_connections, make_app
from tests.factories import add_member, make_user
from tests.integration.test_exports import member_client
from tests.integration.test_invoices import COFFEE, authorize, certified, customer, draft
from tests.integration.test_mail import Inbox, free_port, mail_url, smtp_server
from tests.integration.webhooks.conftest import Receiver
from tests.tasks import retry_now, run_until_settled
from tests.web import csrf_token


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    port = free_port()
    with smtp_server(port) as received, mail_url(app, f"smtp://127.0.0.1:{port}"):
        yield received


def endpoint_for(organization_id: int, url: str, events: list[str]) -> str:
    endpoint = services.create_endpoint(db.session, organization_id, url, events, "ERP")
    return services.reveal_secret(endpoint)


def people(organization_id: int) -> dict[str, str]:
    """An admin, an accountant and a member beside the owner: role → email."""
    organization = db.session.get_one(Organization, organization_id)
    emails = {}
    for role in (Role.ADMIN, Role.ACCOUNTANT, Role.MEMBER):
        user = make_user()
        add_member(organization, user, role)
        emails[str(role)] = user.email
    return emails


def expire_in(organization_id: int, delta: dt.timedelta) -> Certificate:
    certificate = db.session.scalars(
        select(Certificate).where(
            Certificate.organization_id == organization_id,
            Certificate.status == CertificateStatus.ACTIVE,
        )
    ).one()
    certificate.not_valid_after = get_arca().now() + delta
    db.session.commit()
    return certificate


def test_a_certificate_a_week_from_its_end_alerts_each_owner_and_admin_once(
    app: Flask, inbox: Inbox, receiver: Receiver
) -> None:
    with app.app_context():
        organization_id = certified()
        emails = people(organization_id)
        secret = endpoint_for(organization_id, receiver.url, ["certificate.expiring"])
        expire_in(organization_id, dt.timedelta(days=6, hours=20))
        for _run in range(3):  # three runs of the hourly job, or three hours: one alert
            run_now("certificates.expiry")
            run_until_settled()
        recipients = sorted(rcpt for _sender, rcpts, _message in inbox.received for rcpt in rcpts)
        managers_ = sorted([owner_of(organization_id), emails["admin"]])
        assert recipients == managers_  # one each; not the accountant, not the member
        message = inbox.received[0][2]
        assert "vence en 6 días" in str(message["Subject"])
        assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "/certificates/" in text
        [request] = receiver.requests
        document = Webhook(secret).verify(request.body, request.headers)
        assert document["type"] == "certificate.expiring"
        assert document["data"]["alert_days"] == 7
        # the day before: the 1-day alert, once more per person
        expire_in(organization_id, dt.timedelta(hours=20))
        run_now("certificates.expiry")
        run_until_settled()
        assert len(inbox.received) == 4
        assert "vence mañana" in str(inbox.received[-1][2]["Subject"])


def test_an_expired_certificate_is_told_once(app: Flask, inbox: Inbox) -> None:
    with app.app_context():
        organization_id = certified()
        expire_in(organization_id, dt.timedelta(days=-1))
        run_now("certificates.expiry")
        run_now("certificates.expiry")
        run_until_settled()
        assert [str(m["Subject"]) for _s, _r, m in inbox.received] == [
            f"Venció el certificado de ARCA de {org_name(organization_id)}"
        ]
        types = db.session.scalars(select(Event.type)).all()
        assert types.count("certificate.expired") == 1


def owner_of(organization_id: int) -> str:
    return db.session.scalars(
        select(Membership.email).where(
            Membership.organization_id == organization_id, Membership.role == "owner"
        )
    ).one()


def org_name(organization_id: int) -> str:
    return db.session.get_one(Organization, organization_id).display_name


def test_an_organization_that_asks_emails_each_authorized_invoice(app: Flask, inbox: Inbox) -> None:
    with app.app_context():
        organization_id = certified()
        buyer = customer(organization_id, "30-71111111-1", "1", "Ferretería Sur SA")
        db.session.get_one(Customer, buyer).emails = "ana@example.com"
        db.session.commit()
        authorize(draft(organization_id, [COFFEE], customer_id=buyer).id)  # setting off
        run_until_settled()
        assert inbox.received == []
        db.session.get_one(Organization, organization_id).email_invoices = True
        db.session.commit()
        invoice_id = authorize(draft(organization_id, [COFFEE], customer_id=buyer).id).id
        authorize(draft(organization_id, [COFFEE]).id)  # no customer, no address: no email
        run_until_settled()
        [(_sender, recipients, message)] = inbox.received
        assert recipients == ["ana@example.com"]
        attachment = next(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        mail = db.session.scalars(select(MailMessage)).one()
        assert mail.invoice_id == invoice_id and mail.event_id is not None


def test_the_settings_page_turns_the_automatic_email_on(app: Flask) -> None:
    with app.app_context():
        organization_id = certified()
        organization = db.session.get_one(Organization, organization_id)
        fields = {
            "cuit": organization.cuit,
            "legal_name": organization.legal_name,
            "iva_condition": str(organization.iva_condition),
        }
    client = member_client(app, organization_id, "duena@example.com")
    token = csrf_token(client, "/organizations/settings")
    response = client.post(
        "/organizations/settings", data={**fields, "csrf_token": token, "email_invoices": "y"}
    )
    assert response.status_code in (200, 303), response.text
    with app.app_context():
        assert db.session.get_one(Organization, organization_id).email_invoices is True


def test_a_disabled_endpoint_emails_the_owners_and_shows_a_banner(app: Flask, inbox: Inbox) -> None:
    with app.app_context():
        organization_id = certified()
        endpoint_for(organization_id, "http://127.0.0.1:9/hooks", ["invoice.authorized"])
        authorize(draft(organization_id, [COFFEE]).id)  # port 9 refuses: the first failure
        run_worker(burst=True)
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        assert endpoint.enabled and endpoint.failing_since is not None
        endpoint.failing_since = utcnow() - GIVE_UP - dt.timedelta(minutes=1)
        db.session.commit()
        retry_now()
        run_worker(burst=True)  # fails again, three days after the first: disabled
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        assert endpoint.enabled is False and endpoint.disabled_reason == "failing"
        subjects = [str(message["Subject"]) for _s, _r, message in inbox.received]
        assert subjects == [f"Desactivamos un webhook de {org_name(organization_id)}"]
    client = member_client(app, organization_id, "duena@example.com")
    page = client.get("/")
    assert "webhooks-alert" in page.text
    assert "falló durante 3 días" in page.text
    accountant = member_client(app, organization_id, "contador@example.com", "accountant")
    assert "webhooks-alert" not in accountant.get("/").text


def test_invoice_events_carry_the_whole_api_invoice(app: Flask, receiver: Receiver) -> None:
    with app.app_context():
        organization_id = certified()
        secret = endpoint_for(
            organization_id, receiver.url, ["invoice.created", "invoice.authorized"]
        )
        invoice = authorize(draft(organization_id, [COFFEE]).id)
        expected = {
            "id": invoice.id,
            "status": "authorized",
            "cae": invoice.cae,
            "number": invoice.number,
        }
        total = str(invoice.total)
        run_until_settled()
        documents = {
            str(document["type"]): document["data"]
            for document in (Webhook(secret).verify(r.body, r.headers) for r in receiver.requests)
        }
        authorized, created = documents["invoice.authorized"], documents["invoice.created"]
        assert {key: authorized[key] for key in expected} == expected
        assert authorized["lines"][0]["description"] == COFFEE.description
        assert authorized["totals"]["total"] == total
        assert authorized["links"]["self"] == f"/api/v1/invoices/{expected['id']}"
        # created as a draft: the event says so, though the invoice is authorized by now
        assert created["status"] == "draft" and created["number"] is None and not created["cae"]
        assert "complete" not in authorized and "complete" not in created


def test_an_unknown_outcome_past_the_grace_period_needs_attention_once(
    app: Flask, receiver: Receiver, faults: None
) -> None:
    with app.app_context():
        organization_id = certified()
        secret = endpoint_for(organization_id, receiver.url, ["invoice.needs_attention"])
        sandbox = get_arca().sandbox()
        sandbox.faults.add(drop_after("FECAESolicitar"))  # ARCA grants it; the answer is lost
        sandbox.faults.add(drop_before(operation="FECompConsultar", count=None))
        invoice_id = draft(organization_id, [COFFEE]).id
        assert authorize(invoice_id).status == InvoiceStatus.UNKNOWN  # ARCA can't say
        reconcile_pending(db.session, organization_id, get_arca())
        reconcile_pending(db.session, organization_id, get_arca())  # still down: no new event
        assert db.session.get_one(Invoice, invoice_id).status == InvoiceStatus.UNKNOWN
        run_until_settled()
        [request] = receiver.requests
        document = Webhook(secret).verify(request.body, request.headers)
        assert document["type"] == "invoice.needs_attention"
        assert document["data"]["id"] == invoice_id and document["data"]["status"] == "unknown"
        sandbox.faults.clear()
        reconcile_pending(db.session, organization_id, get_arca())  # ARCA answers: adopted
        assert db.session.get_one(Invoice, invoice_id).status == InvoiceStatus.AUTHORIZED


def test_a_finished_customer_import_is_an_event(app: Flask, receiver: Receiver) -> None:
    with app.app_context():
        organization_id = certified()
        secret = endpoint_for(organization_id, receiver.url, ["customer_import.finished"])
        header = b"tipo_documento;numero_documento;razon_social;condicion_iva\n"
        upload = UploadedCsv("clientes.csv", header + b"96;30111222;Ana;5\n96;30111223;Luis;5\n")
        record = preview_import(db.session, organization_id, None, upload)
        confirm_import(db.session, record, "skip", None)
        run_until_settled()
        [request] = receiver.requests
        document = Webhook(secret).verify(request.body, request.headers)
        assert document["type"] == "customer_import.finished"
        assert document["data"]["status"] == "done" and document["data"]["created"] == 2
        assert document["data"]["file"] == "clientes.csv"


def test_without_redis_events_are_delivered_before_the_request_returns(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> None:
    instance = tmp_path_factory.mktemp("embedded")
    embedded = make_app(database_url, None, instance, WEBHOOKS_ALLOW_PRIVATE=True)
    try:
        with embedded.app_context():
            organization_id = certified()
            secret = endpoint_for(organization_id, receiver.url, ["invoice.authorized"])
            invoice = authorize(draft(organization_id, [COFFEE]).id)
            assert invoice.cae  # the caller's objects survive the inline delivery
            [request] = receiver.requests  # no worker, no dispatch: already there
            assert (
                Webhook(secret).verify(request.body, request.headers)["data"]["cae"] == invoice.cae
            )
    finally:
        close_connections(embedded)
