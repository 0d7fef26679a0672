"""Spanish by default; English per user, remembered on the account."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from blueprints.auth.models import User
from core.db import db
from tests.factories import make_organization, make_user
from tests.web import csrf_token, login, text_of


def test_spanish_is_the_default(app: Flask) -> None:
    page = app.test_client().get("/auth/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="es-AR">' in page.get_data(as_text=True)
    assert "Ingresá a Talonario" in text_of(page)


def test_english_is_chosen_per_user_and_kept(app: Flask) -> None:
    with app.app_context():
        make_organization(owner=make_user(email="ana@example.com"), legal_name="Almacén Demo SRL")
    client = app.test_client()
    login(client, "ana@example.com")
    token = csrf_token(client, "/")
    changed = client.post(
        "/account/language", data={"csrf_token": token, "locale": "en", "next": "/"}
    )
    assert changed.status_code == 303
    page = client.get("/")
    assert '<html lang="en">' in page.get_data(as_text=True)
    assert "First steps to start invoicing" in text_of(page)
    with app.app_context():
        assert db.session.scalar(select(User.locale)) == "en"
    # A new session (another device) starts in English too.
    other = app.test_client()
    login(other, "ana@example.com")
    assert '<html lang="en">' in other.get("/").get_data(as_text=True)


def test_anonymous_visitors_can_switch_too(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client, "/auth/login")
    client.post(
        "/account/language", data={"csrf_token": token, "locale": "en", "next": "/auth/login"}
    )
    assert '<html lang="en">' in client.get("/auth/login").get_data(as_text=True)


def test_unknown_language_is_ignored(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client, "/auth/login")
    client.post("/account/language", data={"csrf_token": token, "locale": "xx"})
    assert '<html lang="es-AR">' in client.get("/auth/login").get_data(as_text=True)
