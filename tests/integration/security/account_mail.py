"""What the account tests share: a real SMTP server on loopback (aiosmtpd) that the outbox
delivers to, the links in the messages it received, sign-up through the form, and tokens signed
in the past (itsdangerous reads their age from the signature: no clock to freeze)."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.test import TestResponse

from tests.integration.test_mail import Inbox, free_port, mail_url, smtp_server
from tests.tasks import run_until_settled
from tests.web import post_form

ORIGIN = "http://localhost"
SIGN_UP = {
    "name": "Ana García",
    "email": "Ana@Example.com",
    "password": "correcto-caballo-bateria",
    "cuit": "30-71234567-1",
    "legal_name": "Almacén Demo SRL",
    "trade_name": "Almacén Demo",
    "iva_condition": "responsable_inscripto",
    "iibb": "901-123456-7",
    "activity_start": "2019-03-01",
    "address": "Av. Corrientes 1234, CABA",
}


@contextlib.contextmanager
def smtp_inbox(app: Flask) -> Iterator[Inbox]:
    """A loopback SMTP server, and the app's outbox pointed at it (each test file makes it its
    `inbox` fixture)."""
    port = free_port()
    with smtp_server(port) as received, mail_url(app, f"smtp://127.0.0.1:{port}"):
        yield received


def deliver(app: Flask) -> None:
    """Run the outbox until every message is handed to the SMTP server."""
    with app.app_context():
        run_until_settled()


def texts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def link_in(message: EmailMessage, path: str) -> str:
    """The one link to `path…` the message carries (the same in its text and HTML parts),
    as a path for the test client."""
    text, html = texts(message)
    pattern = re.compile(re.escape(ORIGIN + path) + r"[A-Za-z0-9_.\-]+")
    (link,) = set(pattern.findall(text))
    assert f'href="{link}"' in html
    return link.removeprefix(ORIGIN)


def messages_to(inbox: Inbox, address: str) -> list[EmailMessage]:
    return [message for _sender, to, message in inbox.received if to == [address]]


def sign_up(client: FlaskClient, **changes: str) -> TestResponse:
    return post_form(client, "/auth/signup", {**SIGN_UP, **changes})


def signed_in_the_past(app: Flask, salt: str, payload: Any, seconds_ago: int) -> str:
    """A token as the app would have signed it `seconds_ago`."""

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds_ago

    serializer = URLSafeTimedSerializer(app.secret_key, salt=salt, signer=Past)  # type: ignore[arg-type]
    return str(serializer.dumps(payload))


def confirm_email_of(app: Flask, client: FlaskClient, email: str, password: str) -> None:
    """Log `client` in as that account and open a verification link for it, as the person who
    got the email would."""
    from blueprints.auth.models import User
    from blueprints.auth.recovery import verification_token
    from core.db import db
    from tests.web import login

    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        token = verification_token(user)
        db.session.commit()
    login(client, email, password)
    assert client.get(f"/auth/verify/{token}").status_code == 303
