"""Login rows on the embedded default (SQLite, signed-cookie sessions): logout ends the login,
so neither its old session cookie nor its remember cookie signs anyone in again."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from blueprints.auth.models import UserSession
from core.db import db, utcnow
from tests.factories import PASSWORD, make_organization, make_user
from tests.web import csrf_token, login

pytestmark = pytest.mark.embedded

EMAIL = "ana@example.com"


def test_login_and_logout_on_sqlite(embedded_app: Flask) -> None:
    with embedded_app.app_context():
        user = make_user(email=EMAIL)
        user.email_verified_at = utcnow()
        make_organization(owner=user)
    other, client = embedded_app.test_client(), embedded_app.test_client()
    login(other, EMAIL)
    login(client, EMAIL, PASSWORD, remember="y")
    session_cookie = client.get_cookie("talonario_session")
    remember_cookie = client.get_cookie("talonario_remember")
    assert session_cookie and remember_cookie
    assert client.get("/").status_code == 200

    response = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 303
    for name, value in (
        ("talonario_session", session_cookie.value),
        ("talonario_remember", remember_cookie.value),
    ):
        replay = embedded_app.test_client()
        replay.set_cookie(name, value)
        answer = replay.get("/")
        assert answer.status_code == 302, name
        assert answer.headers["Location"].startswith("/auth/login")
    with embedded_app.app_context():
        rows = db.session.scalars(select(UserSession)).all()
        # Two logins: the other browser's, still live, and this one, ended by the logout.
        assert [row.revoked_at is not None for row in rows].count(True) == 1
    assert other.get("/").status_code == 200
