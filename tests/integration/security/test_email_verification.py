"""Verified emails and a sign-up that doesn't tell who has an account (issue #15, finding 7:
"Ya existe una cuenta con el email X"; invitation tokens in logs let anyone join). Real SMTP on
loopback (aiosmtpd), PostgreSQL and Redis, the app's HTTP stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blueprints.auth.models import User
from blueprints.auth.recovery import VERIFY_SALT, verification_payload
from blueprints.organizations.models import Membership, MembershipStatus, Organization
from core.db import db
from tests.factories import PASSWORD, make_organization, make_user, next_cuit
from tests.integration.security.account_mail import (
    SIGN_UP,
    deliver,
    link_in,
    messages_to,
    sign_up,
    signed_in_the_past,
    smtp_inbox,
    texts,
)
from tests.integration.test_mail import Inbox
from tests.integration.test_organizations import INVITE_LINK, invite, owner_with_organization
from tests.web import csrf_token, login, post_form, text_of

EMAIL = "ana@example.com"
CHECK_EMAIL = "Revisá tu email"
ANOTHER_PASSWORD = "nadie-sabe-esta-frase-9"


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    with smtp_inbox(app) as received:
        yield received


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        found = tuple(
            int(db.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (User, Organization, Membership)
        )
        db.session.commit()
    return found  # type: ignore[return-value]


def verified(app: Flask, email: str) -> bool:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None
        db.session.commit()
        return user.email_verified_at is not None


def sends_to_login(client: FlaskClient, path: str = "/") -> bool:
    response = client.get(path)
    return response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_sign_up_sends_a_verification_link_and_does_not_log_in(app: Flask, inbox: Inbox) -> None:
    client = app.test_client()
    response = sign_up(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/signup/check-email"
    page = text_of(client.get(response.headers["Location"]))
    assert CHECK_EMAIL in page and EMAIL in page
    assert sends_to_login(client)
    assert counts(app) == (1, 1, 1)
    assert not verified(app, EMAIL)

    deliver(app)
    (message,) = messages_to(inbox, EMAIL)
    assert message["Subject"] == "Confirmá tu email en Talonario"
    link = link_in(message, "/auth/verify/")

    # The owner can work before confirming: log in, see the business and the banner.
    login(client, EMAIL, SIGN_UP["password"])
    dashboard = text_of(client.get("/"))
    assert "Almacén Demo" in dashboard
    assert f"Confirmá tu email: te enviamos un enlace a {EMAIL}" in dashboard

    confirmed = client.get(link)
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/"
    assert verified(app, EMAIL)
    after = text_of(client.get("/"))
    assert "Confirmaste tu email." in after
    assert "Confirmá tu email: te enviamos" not in after


def test_the_link_asks_for_the_accounts_login_first(app: Flask, inbox: Inbox) -> None:
    sign_up(app.test_client())
    deliver(app)
    link = link_in(messages_to(inbox, EMAIL)[0], "/auth/verify/")

    stranger = app.test_client()  # whoever opens the mail, not logged in
    opened = stranger.get(link)
    assert opened.status_code == 303
    assert opened.headers["Location"].startswith("/auth/login?next=")
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    assert not verified(app, EMAIL)

    # Logged in as another account: refused, nothing confirmed.
    with app.app_context():
        make_organization(owner=make_user(email="beto@example.com"))
    other = app.test_client()
    login(other, "beto@example.com")
    assert other.get(link).status_code == 403
    assert not verified(app, EMAIL)

    # The account's own login, then the same link: confirmed.
    login(stranger, EMAIL, SIGN_UP["password"])
    assert stranger.get(link).status_code == 303
    assert verified(app, EMAIL)


def test_the_link_expires_after_three_days(app: Flask) -> None:
    sign_up(app.test_client())
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        payload = verification_payload(user)
        db.session.commit()
    client = app.test_client()
    login(client, EMAIL, SIGN_UP["password"])
    late = signed_in_the_past(app, VERIFY_SALT, payload, seconds_ago=3 * 24 * 3600 + 60)
    refused = client.get(f"/auth/verify/{late}")
    assert refused.status_code == 404
    assert "El enlace no es válido, ya se usó o venció." in text_of(refused)
    assert not verified(app, EMAIL)
    almost = signed_in_the_past(app, VERIFY_SALT, payload, seconds_ago=3 * 24 * 3600 - 60)
    assert client.get(f"/auth/verify/{almost}").status_code == 303
    assert verified(app, EMAIL)


def test_resend_mails_another_link_once_a_minute(app: Flask, inbox: Inbox) -> None:
    sign_up(app.test_client())
    client = app.test_client()
    login(client, EMAIL, SIGN_UP["password"])
    token = csrf_token(client, "/")
    first = client.post("/auth/verify/resend", data={"csrf_token": token})
    assert first.status_code == 303
    assert f"Te enviamos otro enlace a {EMAIL}." in text_of(client.get("/"))
    client.post("/auth/verify/resend", data={"csrf_token": token})
    assert "hace menos de un minuto" in text_of(client.get("/"))
    deliver(app)
    # The sign-up's message and one resent (the second click sent nothing).
    assert len(messages_to(inbox, EMAIL)) == 2


def test_a_sign_up_with_a_registered_email_answers_like_a_new_one(app: Flask, inbox: Inbox) -> None:
    with app.app_context():
        make_organization(owner=make_user(email=EMAIL, name="Ana"), legal_name="Kiosco Ana")
    before = counts(app)
    client = app.test_client()
    response = sign_up(client, cuit=next_cuit(), password=ANOTHER_PASSWORD)
    fresh = sign_up(app.test_client(), email="nueva@example.com", cuit=next_cuit())
    assert (response.status_code, response.headers["Location"]) == (
        fresh.status_code,
        fresh.headers["Location"],
    )
    page = text_of(client.get(response.headers["Location"]))
    assert CHECK_EMAIL in page and EMAIL in page
    assert "Ya existe una cuenta" not in page
    assert counts(app)[0] == before[0] + 1  # only nueva@ was created

    deliver(app)
    (notice,) = messages_to(inbox, EMAIL)
    assert notice["Subject"] == "Alguien intentó crear una cuenta de Talonario con tu email"
    text, _html = texts(notice)
    assert "http://localhost/auth/login" in text
    assert "http://localhost/auth/password/forgot" in text
    assert "/auth/verify/" not in text
    assert not logs_in_with(app, EMAIL, ANOTHER_PASSWORD)  # the account is untouched
    assert logs_in_with(app, EMAIL, PASSWORD)


def logs_in_with(app: Flask, email: str, password: str) -> bool:
    response = post_form(app.test_client(), "/auth/login", {"email": email, "password": password})
    return response.status_code == 303


def test_a_taken_cuit_still_says_so(app: Flask) -> None:
    with app.app_context():
        cuit = make_organization(owner=make_user()).cuit
    response = sign_up(app.test_client(), cuit=cuit)
    assert response.status_code == 422
    assert f"Ya hay una organización registrada con el CUIT {cuit}." in text_of(response)


def test_an_invited_person_joins_only_after_confirming_the_email(app: Flask, inbox: Inbox) -> None:
    owner_with_organization(app)
    owner = app.test_client()
    login(owner, EMAIL)
    match = INVITE_LINK.search(invite(owner, "contadora@example.com").get_data(as_text=True))
    assert match is not None
    token = match.group(1).rsplit("/", 1)[1]

    # Whoever holds the invitation link (read from a log, say) signs up with it ...
    guest = app.test_client()
    data = {"name": "Carla", "email": "contadora@example.com", "password": PASSWORD}
    response = post_form(guest, f"/auth/signup?invitation={token}", data)
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/signup/check-email"
    login(guest, "contadora@example.com")
    waiting = guest.get("/")  # no organization to work in yet
    assert waiting.status_code == 302 and waiting.headers["Location"] == "/organizations/new"
    with app.app_context():
        membership = db.session.scalars(
            select(Membership).where(Membership.email == "contadora@example.com")
        ).one()
        assert membership.status == MembershipStatus.PENDING
        assert membership.user_id is not None and membership.invite_token_hash is None
        db.session.commit()
    # ... and the link is used up, but the membership waits for the mailbox's owner.
    assert app.test_client().get(f"/organizations/invitations/{token}").status_code == 404

    deliver(app)
    verify = [
        m for m in messages_to(inbox, "contadora@example.com") if "/auth/verify/" in texts(m)[0]
    ]
    (message,) = verify
    assert guest.get(link_in(message, "/auth/verify/")).status_code == 303
    with app.app_context():
        membership = db.session.scalars(
            select(Membership).where(Membership.email == "contadora@example.com")
        ).one()
        assert membership.status == MembershipStatus.ACTIVE
        assert membership.accepted_at is not None
        db.session.commit()
    assert "Almacén Demo SRL" in text_of(guest.get("/"))


def test_certificates_and_api_keys_wait_for_a_confirmed_email(app: Flask) -> None:
    sign_up(app.test_client())
    client = app.test_client()
    login(client, EMAIL, SIGN_UP["password"])
    token = csrf_token(client, "/certificates/")
    for path in ("/certificates/generate", "/organizations/api/keys"):
        refused = client.post(path, data={"csrf_token": token, "alias": "talonario"})
        assert refused.status_code == 403, path
        assert "confirmá tu email" in text_of(refused)
        assert "Reenviar" in text_of(refused)
