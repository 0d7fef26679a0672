"""Password reset by email (issue #15, deliver 1): the same answer whether or not the account
exists, a link that works once and for an hour, the old password refused after, every other
login ended. Real SMTP on loopback (aiosmtpd), PostgreSQL and Redis, the app's HTTP stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from blueprints.auth.models import User
from blueprints.auth.recovery import RESET_SALT, reset_payload
from core.db import db
from core.mail import MailMessage
from tests.factories import PASSWORD, make_organization, make_user
from tests.integration.security.account_mail import (
    deliver,
    link_in,
    messages_to,
    signed_in_the_past,
    smtp_inbox,
    texts,
)
from tests.integration.test_mail import Inbox
from tests.web import post_form, text_of

EMAIL = "ana@example.com"
NEW_PASSWORD = "tres-tigres-tragan-trigo"
SAME_ANSWER = "Si hay una cuenta con ese email, te enviamos un enlace"


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    with smtp_inbox(app) as received:
        yield received


@pytest.fixture
def ana(app: Flask) -> int:
    with app.app_context():
        user = make_user(email=EMAIL, name="Ana")
        make_organization(owner=user, legal_name="Almacén Demo SRL")
        return user.id


def ask_for_reset(client: FlaskClient, email: str) -> TestResponse:
    return post_form(client, "/auth/password/forgot", {"email": email})


def reset_link(app: Flask, inbox: Inbox) -> str:
    deliver(app)
    (message,) = messages_to(inbox, EMAIL)
    return link_in(message, "/auth/password/reset/")


def choose(client: FlaskClient, password: str, confirm: str | None = None) -> TestResponse:
    data = {"password": password, "confirm": confirm if confirm is not None else password}
    return post_form(client, "/auth/password/reset", data)


def logs_in(app: Flask, password: str) -> bool:
    response = post_form(app.test_client(), "/auth/login", {"email": EMAIL, "password": password})
    return response.status_code == 303


def test_the_answer_is_the_same_for_an_unknown_email(app: Flask, ana: int, inbox: Inbox) -> None:
    known = ask_for_reset(app.test_client(), EMAIL)
    unknown = ask_for_reset(app.test_client(), "nadie@example.com")
    assert (known.status_code, known.headers["Location"]) == (
        unknown.status_code,
        unknown.headers["Location"],
    )
    assert known.status_code == 303
    page = text_of(app.test_client().get(known.headers["Location"]))
    assert SAME_ANSWER in page
    deliver(app)
    assert [to for _sender, to, _message in inbox.received] == [[EMAIL]]


def test_the_link_resets_the_password_once_and_the_old_one_stops_working(
    app: Flask, ana: int, inbox: Inbox
) -> None:
    assert ask_for_reset(app.test_client(), "Ana@Example.COM").status_code == 303
    link = reset_link(app, inbox)
    (message,) = messages_to(inbox, EMAIL)
    assert message["Subject"] == "Cambiá tu contraseña de Talonario"
    assert "vence en una hora" in texts(message)[0]

    person = app.test_client()
    opened = person.get(link)
    # The token leaves the address bar at once: the page that asks for the password has none.
    assert opened.status_code == 303
    assert opened.headers["Location"] == "/auth/password/reset"
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    form = person.get("/auth/password/reset")
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert link.rsplit("/", 1)[1] not in form.get_data(as_text=True)

    done = choose(person, NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["Location"] == "/auth/login"
    assert "Cambiaste tu contraseña: ingresá con la nueva." in text_of(person.get("/auth/login"))
    assert logs_in(app, NEW_PASSWORD)
    assert not logs_in(app, PASSWORD)

    # Used once: the same link, in a fresh browser, is dead.
    again = app.test_client()
    again.get(link)
    refused = again.get("/auth/password/reset")
    assert refused.status_code == 404
    assert "El enlace no es válido, ya se usó o venció." in text_of(refused)
    assert choose(again, "otra-frase-bien-larga-9").status_code == 404
    assert logs_in(app, NEW_PASSWORD)


def test_the_link_expires_after_an_hour(app: Flask, ana: int) -> None:
    with app.app_context():
        payload = reset_payload(db.session.get_one(User, ana))
        db.session.commit()
    almost = signed_in_the_past(app, RESET_SALT, payload, seconds_ago=59 * 60)
    late = signed_in_the_past(app, RESET_SALT, payload, seconds_ago=61 * 60)

    fresh = app.test_client()
    fresh.get(f"/auth/password/reset/{almost}")
    assert fresh.get("/auth/password/reset").status_code == 200

    stale = app.test_client()
    stale.get(f"/auth/password/reset/{late}")
    assert stale.get("/auth/password/reset").status_code == 404
    assert choose(stale, NEW_PASSWORD).status_code == 404
    assert logs_in(app, PASSWORD)


def test_a_forged_or_foreign_token_is_refused(app: Flask, ana: int) -> None:
    with app.app_context():
        payload = reset_payload(db.session.get_one(User, ana))
        db.session.commit()
    other_salt = signed_in_the_past(app, "email-verify", payload, seconds_ago=0)
    for token in ("no-es-un-token", other_salt):
        client = app.test_client()
        client.get(f"/auth/password/reset/{token}")
        assert client.get("/auth/password/reset").status_code == 404
    assert app.test_client().get("/auth/password/reset").status_code == 404  # no token at all


def test_a_changed_password_kills_an_earlier_link(app: Flask, ana: int, inbox: Inbox) -> None:
    ask_for_reset(app.test_client(), EMAIL)
    link = reset_link(app, inbox)
    with app.app_context():
        payload = reset_payload(db.session.get_one(User, ana))
        user = db.session.get_one(User, ana)
        user.auth_version += 1  # what any password change does
        db.session.commit()
    client = app.test_client()
    client.get(link)
    assert client.get("/auth/password/reset").status_code == 404
    assert payload["u"] == ana


def test_the_new_password_must_be_typed_twice_and_follow_the_rules(
    app: Flask, ana: int, inbox: Inbox
) -> None:
    ask_for_reset(app.test_client(), EMAIL)
    person = app.test_client()
    person.get(reset_link(app, inbox))
    mismatch = choose(person, NEW_PASSWORD, "otra-cosa-distinta-del-todo")
    assert mismatch.status_code == 422
    assert "Las dos contraseñas no coinciden." in text_of(mismatch)
    weak = choose(person, "almacendemo2024")
    assert weak.status_code == 422
    assert "no puede contener el nombre Almacén Demo SRL" in text_of(weak)
    assert logs_in(app, PASSWORD)
    assert choose(person, NEW_PASSWORD).status_code == 303


def test_a_reset_ends_every_login_of_the_account(app: Flask, ana: int, inbox: Inbox) -> None:
    elsewhere = app.test_client()
    post_form(elsewhere, "/auth/login", {"email": EMAIL, "password": PASSWORD, "remember": "y"})
    assert elsewhere.get("/").status_code == 200
    remembered = elsewhere.get_cookie("talonario_remember")

    ask_for_reset(app.test_client(), EMAIL)
    person = app.test_client()
    person.get(reset_link(app, inbox))
    assert choose(person, NEW_PASSWORD).status_code == 303

    assert elsewhere.get("/").status_code == 302
    if remembered is not None:  # replaying the remember-me cookie in a new browser
        replay = app.test_client()
        replay.set_cookie("talonario_remember", remembered.value)
        assert replay.get("/").status_code == 302


def test_asking_again_within_a_minute_sends_no_second_message(
    app: Flask, ana: int, inbox: Inbox
) -> None:
    first = ask_for_reset(app.test_client(), EMAIL)
    second = ask_for_reset(app.test_client(), EMAIL)
    assert first.headers["Location"] == second.headers["Location"]
    deliver(app)
    assert len(messages_to(inbox, EMAIL)) == 1
    with app.app_context():
        kinds = db.session.scalars(select(MailMessage.kind)).all()
        db.session.commit()
    assert kinds == ["account.reset"]
