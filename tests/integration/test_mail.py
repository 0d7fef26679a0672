"""Email through the outbox (issue 14, item 4), against a real SMTP server on loopback
(aiosmtpd): the invoice's email carries the downloaded PDF; a server that is down leaves the
message pending while its task retries, and it goes out when the server is back; without
TALONARIO_MAIL_URL messages are written under instance/mail/."""

from __future__ import annotations

import contextlib
import email
import logging
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from flask import Flask, render_template
from flask.testing import FlaskClient
from sqlalchemy import select

from blueprints.invoices.mailing import email_invoice
from blueprints.invoices.models import Invoice
from blueprints.organizations.models import Organization
from core.db import db
from core.mail import DEFAULT_FROM, MailMessage, MailStatus
from core.tasks import Task, TaskStatus, run_worker
from tests.integration.test_exports import member_client
from tests.integration.test_invoices import COFFEE, authorize, certified, draft
from tests.tasks import retry_now, run_until_settled
from tests.web import csrf_token, text_of


@dataclass
class Inbox:
    """What the SMTP server received: (envelope sender, recipients, message)."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    authenticated: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.original_content or b"", policy=default)
        assert isinstance(message, EmailMessage)
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), message))
        self.authenticated.append(bool(session.authenticated))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def only(login: bytes, password: bytes) -> Callable[..., AuthResult]:
    """An authenticator that takes exactly this login and password."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (login, password)
        return AuthResult(success=ok)

    return authenticate


@contextlib.contextmanager
def smtp_server(port: int, **options: object) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@contextlib.contextmanager
def mail_url(app: Flask, url: str | None) -> Iterator[None]:
    previous = app.config.get("MAIL_URL")
    app.config["MAIL_URL"] = url
    try:
        yield
    finally:
        app.config["MAIL_URL"] = previous


@pytest.fixture
def issued(app: Flask) -> tuple[FlaskClient, int, int]:
    """An owner signed in and an authorized Factura B: (client, organization id, invoice id)."""
    with app.app_context():
        organization_id = certified()
        invoice_id = authorize(draft(organization_id, [COFFEE]).id).id
    client = member_client(app, organization_id, "duena@example.com")
    return client, organization_id, invoice_id


def send_from_page(client: FlaskClient, invoice_id: int, to: str) -> None:
    token = csrf_token(client, f"/invoices/{invoice_id}")
    response = client.post(f"/invoices/{invoice_id}/email", data={"csrf_token": token, "to": to})
    assert response.status_code == 303, response.text


def email_box(app: Flask, invoice_id: int) -> str:
    """templates/invoices/_email.html as the invoice page includes it (its text)."""
    with app.test_request_context():
        invoice = db.session.get_one(Invoice, invoice_id)
        html = render_template("invoices/_email.html", invoice=invoice, current_role="owner")
        db.session.remove()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def mail_row() -> MailMessage:
    mail = db.session.scalars(select(MailMessage)).one()
    db.session.commit()
    return mail


def test_the_invoice_email_carries_the_downloaded_pdf(
    app: Flask, issued: tuple[FlaskClient, int, int]
) -> None:
    client, organization_id, invoice_id = issued
    port = free_port()
    with smtp_server(port) as inbox, mail_url(app, f"smtp://127.0.0.1:{port}"):
        send_from_page(client, invoice_id, "cliente@example.com")
        with app.app_context():
            run_worker(burst=True)
    assert len(inbox.received) == 1
    sender, recipients, message = inbox.received[0]
    assert sender == "no-reply@localhost" and recipients == ["cliente@example.com"]
    assert message["From"] == DEFAULT_FROM and message["To"] == "cliente@example.com"
    with app.app_context():
        invoice = db.session.get_one(Invoice, invoice_id)
        organization_name = db.session.get_one(Organization, organization_id).display_name
        number = f"Factura B {invoice.point_of_sale_number:05d}-{invoice.number:08d}"
    assert message["Subject"] == f"{number} de {organization_name}"

    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "adjunto en PDF" in text.get_content()
    assert "<p>" in html.get_content() and "adjunto en PDF" in html.get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    download = client.get(f"/invoices/{invoice_id}/pdf?descargar=1")
    assert attachment.get_filename() in download.headers["Content-Disposition"]
    # ORIGINAL and DUPLICADO, byte for byte as downloaded (the PDF is dated by the voucher).
    assert attachment.get_content() == download.data

    with app.app_context():
        mail = mail_row()
        assert mail.status == MailStatus.SENT and mail.invoice_id == invoice_id
    assert "Enviado a cliente@example.com el" in email_box(app, invoice_id)


def test_the_credentials_of_the_mail_url_log_in(
    app: Flask, issued: tuple[FlaskClient, int, int]
) -> None:
    """User and password come from the URL, percent-decoded (a server that wants them)."""
    client, _organization_id, invoice_id = issued
    port = free_port()
    options = {"authenticator": only(b"talonario", b"p@ss:word"), "auth_require_tls": False}
    url = f"smtp://talonario:p%40ss%3Aword@127.0.0.1:{port}"
    with smtp_server(port, **options) as inbox, mail_url(app, url):
        send_from_page(client, invoice_id, "cliente@example.com")
        with app.app_context():
            run_until_settled()
            assert mail_row().status == MailStatus.SENT
    assert len(inbox.received) == 1 and inbox.authenticated == [True]


def test_another_organization_cannot_email_the_invoice(
    app: Flask, issued: tuple[FlaskClient, int, int]
) -> None:
    _client, _organization_id, invoice_id = issued
    with app.app_context():
        other = certified()
    stranger = member_client(app, other, "otra@example.com")
    token = csrf_token(stranger, "/")
    response = stranger.post(
        f"/invoices/{invoice_id}/email", data={"csrf_token": token, "to": "x@example.com"}
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalars(select(MailMessage)).all() == []


def test_a_draft_or_no_address_is_refused_with_a_message(
    app: Flask, issued: tuple[FlaskClient, int, int]
) -> None:
    client, organization_id, invoice_id = issued
    token = csrf_token(client, f"/invoices/{invoice_id}")
    response = client.post(f"/invoices/{invoice_id}/email", data={"csrf_token": token, "to": ""})
    assert response.status_code == 303
    assert "el cliente no tiene uno cargado" in text_of(client.get(response.location))
    response = client.post(
        f"/invoices/{invoice_id}/email", data={"csrf_token": token, "to": "no es un email"}
    )
    assert "no es válida" in text_of(client.get(response.location))
    with app.app_context():
        pending = draft(organization_id, [COFFEE])
        with pytest.raises(Exception, match="autorizados"):
            email_invoice(db.session, pending, ["x@example.com"])
        assert db.session.scalars(select(MailMessage)).all() == []


def test_a_server_that_is_down_keeps_the_message_pending_until_it_is_back(
    app: Flask, issued: tuple[FlaskClient, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _organization_id, invoice_id = issued
    port = free_port()  # nobody listens there yet
    # The test makes each retry due itself (retry_now): a back-off that ran out on a slow
    # machine would let a burst worker try once more than it counts.
    monkeypatch.setitem(app.config, "TASKS_RETRY_SECONDS", 600)
    with mail_url(app, f"smtp://127.0.0.1:{port}"):
        send_from_page(client, invoice_id, "cliente@example.com")
        with app.app_context():
            run_worker(burst=True)
            retry_now()
            run_worker(burst=True)  # a second attempt, still refused
            mail = mail_row()
            assert mail.status == MailStatus.PENDING
            assert "ConnectionRefusedError" in (mail.error or "")
            task = db.session.scalars(select(Task).where(Task.kind == "mail.send")).one()
            assert task.status == TaskStatus.PENDING and task.attempts == 2
            db.session.commit()
        assert "Enviando a cliente@example.com" in email_box(app, invoice_id)

        with smtp_server(port) as inbox, app.app_context():
            retry_now()
            run_until_settled()
            mail = mail_row()
            assert mail.status == MailStatus.SENT and mail.error is None
    assert len(inbox.received) == 1


def test_without_a_mail_url_messages_are_written_as_eml_files(
    app: Flask, issued: tuple[FlaskClient, int, int], caplog: pytest.LogCaptureFixture
) -> None:
    client, _organization_id, invoice_id = issued
    caplog.set_level(logging.WARNING, logger="core.mail")
    with mail_url(app, None):
        send_from_page(client, invoice_id, "cliente@example.com")
        with app.app_context():
            run_until_settled()
            mail = mail_row()
            assert mail.status == MailStatus.SENT
            path = Path(app.instance_path) / "mail" / f"{mail.id:08d}.eml"
    assert path.exists() and str(path) in caplog.text
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert message["To"] == "cliente@example.com"
    assert message["Subject"].startswith("Factura B ")
    assert [part.get_content_type() for part in message.walk()].count("application/pdf") == 1


def test_in_english_with_the_organization_logo_inline(
    app: Flask, issued: tuple[FlaskClient, int, int]
) -> None:
    """A recipient who reads English gets English words (the voucher's name stays ARCA's);
    the organization's logo rides along as an inline image of the HTML part."""
    _client, organization_id, invoice_id = issued
    logo = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    with mail_url(app, None), app.test_request_context():
        organization = db.session.get_one(Organization, organization_id)
        organization.logo, organization.logo_mime = logo, "image/png"
        db.session.commit()
        invoice = db.session.get_one(Invoice, invoice_id)
        email_invoice(db.session, invoice, ["client@example.com"], locale="en")
        name = organization.display_name
        run_until_settled()
        raw = mail_row().mime
    message = email.message_from_bytes(raw, policy=default)
    assert message["Subject"].startswith("Factura B ")
    assert message["Subject"].endswith(f" from {name}")
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("related", "html"))
    assert text is not None and "attached as a PDF" in text.get_content()
    assert html is not None and html.get_content_type() == "multipart/related"
    image = next(part for part in html.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo@talonario>" and image.get_content() == logo
    assert 'src="cid:logo@talonario"' in html.get_body(preferencelist=("html",)).get_content()
