"""Mi cuenta → Contraseña (issue #15, finding 1): changing it ends every other login and keeps
this browser signed in under a new one. PostgreSQL + Redis, through the app's HTTP stack."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from blueprints.auth.models import User, UserSession
from core.db import db
from tests.factories import PASSWORD, make_organization, make_user
from tests.web import login, post_form, text_of

EMAIL = "ana@example.com"
NEW_PASSWORD = "otra-clave-bien-larga-2026"


def seed(app: Flask) -> None:
    with app.app_context():
        make_organization(owner=make_user(email=EMAIL), legal_name="Almacén Demo SRL")


def change(client: FlaskClient, current: str, new: str, repeat: str | None = None) -> TestResponse:
    return post_form(
        client,
        "/account/password",
        {"current_password": current, "password": new, "password_repeat": repeat or new},
    )


def sends_to_login(client: FlaskClient) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def auth_version(app: Flask) -> int:
    with app.app_context():
        version = db.session.scalar(select(User.auth_version).where(User.email == EMAIL))
        assert version is not None
        return version


def test_a_password_change_ends_the_other_session_and_keeps_this_one(app: Flask) -> None:
    seed(app)
    here, elsewhere = app.test_client(), app.test_client()
    login(here, EMAIL)
    login(elsewhere, EMAIL, remember="y")
    remembered = elsewhere.get_cookie("talonario_remember")
    assert remembered
    before = auth_version(app)

    response = change(here, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/"
    assert "Cambiaste tu contraseña" in text_of(here.get("/account/"))
    assert here.get("/").status_code == 200
    assert sends_to_login(elsewhere)
    replay = app.test_client()
    replay.set_cookie("talonario_remember", remembered.value)
    assert sends_to_login(replay)

    assert auth_version(app) == before + 1
    with app.app_context():
        live = db.session.scalars(select(UserSession).where(UserSession.revoked_at.is_(None)))
        assert len(live.all()) == 1  # this browser's new login; both old rows revoked
    old = post_form(app.test_client(), "/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert old.status_code == 422
    login(app.test_client(), EMAIL, NEW_PASSWORD)


def test_the_current_password_must_be_right(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL)
    response = change(client, "no-es-la-actual", NEW_PASSWORD)
    assert response.status_code == 422
    assert "La contraseña actual no es correcta." in text_of(response)
    assert auth_version(app) == 1
    assert client.get("/").status_code == 200


def test_the_new_password_follows_the_sign_up_rules(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL)
    response = change(client, PASSWORD, "corta")
    assert response.status_code == 422
    assert auth_version(app) == 1
    login(app.test_client(), EMAIL)  # the old password still works


def test_the_two_new_passwords_must_match(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL)
    response = change(client, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert response.status_code == 422
    assert "Las dos contraseñas nuevas no coinciden." in text_of(response)
    assert auth_version(app) == 1


def test_a_remembered_login_stays_remembered_after_the_change(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL, remember="y")
    old = client.get_cookie("talonario_remember")
    assert old
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 303
    new = client.get_cookie("talonario_remember")
    assert new and new.value != old.value
    client.delete_cookie("talonario_session")  # a browser restart
    assert client.get("/").status_code == 200
