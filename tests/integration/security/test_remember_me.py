"""Logins are rows on the server (issue #15, finding 1): a "remember me" cookie is worth only as
long as its login, which logout, "close all" and a password change end. PostgreSQL + Redis,
through the app's HTTP stack with the test client's cookies."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from blueprints.auth.models import User, UserSession
from core.db import db
from tests.factories import make_organization, make_user
from tests.web import csrf_token, login, text_of

EMAIL = "ana@example.com"
REMEMBER = "talonario_remember"
SESSION = "talonario_session"


def seed(app: Flask, email: str = EMAIL) -> None:
    with app.app_context():
        make_organization(owner=make_user(email=email), legal_name="Almacén Demo SRL")


def cookie_value(client: FlaskClient, name: str) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def set_cookie_header(response: TestResponse, name: str) -> str | None:
    return next(
        (c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")), None
    )


def with_only_remember_cookie(app: Flask, value: str) -> FlaskClient:
    """A browser restarted with nothing but a (perhaps stolen) remember cookie."""
    client = app.test_client()
    client.set_cookie(REMEMBER, value)
    return client


def logout(client: FlaskClient) -> TestResponse:
    return client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})


def sends_to_login(client: FlaskClient) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def test_a_remember_cookie_replayed_after_logout_goes_to_the_login_page(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL, remember="y")
    remembered = cookie_value(client, REMEMBER)
    assert remembered
    assert with_only_remember_cookie(app, remembered).get("/").status_code == 200

    response = logout(client)
    assert response.status_code == 303
    cleared = set_cookie_header(response, REMEMBER)
    assert cleared and "Expires=Thu, 01 Jan 1970" in cleared  # the browser forgets it
    assert cookie_value(client, REMEMBER) is None
    assert sends_to_login(with_only_remember_cookie(app, remembered))
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        assert row is not None and row.revoked_at is not None


def test_two_logins_get_two_different_remember_cookies(app: Flask) -> None:
    seed(app)
    first, second = app.test_client(), app.test_client()
    login(first, EMAIL, remember="y")
    login(second, EMAIL, remember="y")
    assert cookie_value(first, REMEMBER) != cookie_value(second, REMEMBER)
    with app.app_context():
        rows = db.session.scalars(select(UserSession)).all()
        assert len(rows) == 2 and all(row.remember for row in rows)


def test_only_the_token_hash_is_stored(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL, remember="y")
    value = cookie_value(client, REMEMBER)
    assert value
    user_id, version, token = value.split("|")[0].split(":")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        row = db.session.scalar(select(UserSession))
        assert user is not None and row is not None
        assert (int(user_id), int(version)) == (user.id, user.auth_version)
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in row.token_hash


def test_close_all_from_another_browser_ends_this_login(app: Flask) -> None:
    seed(app)
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, EMAIL, remember="y")
    remembered = cookie_value(laptop, REMEMBER)
    assert remembered
    login(phone, EMAIL)

    token = csrf_token(phone, "/account/sessions")
    response = phone.post("/account/sessions/end-all", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/auth/login")
    assert "Cerraste todas tus sesiones." in text_of(phone.get("/auth/login"))
    assert sends_to_login(phone)
    assert sends_to_login(laptop)  # its session cookie, and then its remember cookie, refused
    assert sends_to_login(with_only_remember_cookie(app, remembered))


def test_a_session_without_remember_me_ends_with_the_browser(app: Flask) -> None:
    seed(app)
    response = login(app.test_client(), EMAIL)
    session_cookie = set_cookie_header(response, SESSION)
    assert session_cookie
    assert "Expires=" not in session_cookie and "Max-Age=" not in session_cookie
    assert set_cookie_header(response, REMEMBER) is None


def test_remember_me_lasts_thirty_days(app: Flask) -> None:
    seed(app)
    response = login(app.test_client(), EMAIL, remember="y")
    remember = set_cookie_header(response, REMEMBER)
    assert remember
    expires = dt.datetime.strptime(
        remember.split("Expires=")[1].split(";")[0], "%a, %d %b %Y %H:%M:%S GMT"
    ).replace(tzinfo=dt.UTC)
    days = (expires - dt.datetime.now(dt.UTC)) / dt.timedelta(days=1)
    assert 29.9 < days <= 30


def age_session(app: Flask, **back: dt.timedelta) -> None:
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        assert row is not None
        for column, delta in back.items():
            setattr(row, column, getattr(row, column) - delta)
        db.session.commit()


def test_an_idle_login_without_remember_me_expires(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL)
    age_session(app, last_seen_at=dt.timedelta(hours=7))
    assert client.get("/").status_code == 200  # still within the limit: and seen again now
    age_session(app, last_seen_at=dt.timedelta(hours=9))
    assert sends_to_login(client)


def test_a_remembered_login_ends_thirty_days_after_sign_in(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL, remember="y")
    remembered = cookie_value(client, REMEMBER)
    assert remembered
    age_session(app, last_seen_at=dt.timedelta(days=2), created_at=dt.timedelta(days=2))
    assert with_only_remember_cookie(app, remembered).get("/").status_code == 200
    age_session(app, created_at=dt.timedelta(days=29))
    assert sends_to_login(with_only_remember_cookie(app, remembered))
    assert sends_to_login(client)


def test_last_seen_is_written_at_most_once_a_minute(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL)

    def last_seen() -> dt.datetime:
        with app.app_context():
            row = db.session.scalar(select(UserSession))
            assert row is not None
            return row.last_seen_at

    first = last_seen()
    client.get("/")
    client.get("/")
    assert last_seen() == first
    age_session(app, last_seen_at=dt.timedelta(minutes=2))
    client.get("/")
    assert last_seen() > first - dt.timedelta(minutes=2) + dt.timedelta(seconds=60)


@pytest.mark.parametrize("remember", [False, True])
def test_an_old_auth_version_is_refused(app: Flask, remember: bool) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL, **({"remember": "y"} if remember else {}))
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        assert user is not None
        user.auth_version += 1
        db.session.commit()
    assert sends_to_login(client)
