"""Login, logout, remember me, throttling and session rotation, on PostgreSQL and Redis."""

from __future__ import annotations

import pytest
import redis
from flask import Flask

from tests.factories import PASSWORD, make_organization, make_user
from tests.web import csrf_token, login, post_form, text_of


def seed(app: Flask, email: str = "ana@example.com") -> None:
    with app.app_context():
        make_organization(owner=make_user(email=email), legal_name="Almacén Demo SRL")


def session_cookie(client) -> str | None:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("talonario_session")
    return cookie.value if cookie else None


def test_login_lands_on_the_dashboard_and_logout_ends_the_session(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    response = login(client, "ANA@example.com ")
    assert response.headers["Location"] == "/"
    assert "Almacén Demo SRL" in text_of(client.get("/"))
    token = csrf_token(client, "/")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 303
    after = client.get("/")
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/auth/login")


def test_logout_needs_post(app: Flask) -> None:
    assert app.test_client().get("/auth/logout").status_code == 405


def test_wrong_password_says_so_in_spanish(app: Flask) -> None:
    seed(app)
    response = post_form(
        app.test_client(), "/auth/login", {"email": "ana@example.com", "password": "no-es-esta"}
    )
    assert response.status_code == 422
    assert "El email o la contraseña no son correctos." in text_of(response)


def test_five_failures_a_minute_lock_the_account(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    for _ in range(5):
        bad = post_form(client, "/auth/login", {"email": "ana@example.com", "password": "mal"})
        assert bad.status_code == 422
    # Even the right password is refused now: guessing further gains nothing.
    locked = post_form(client, "/auth/login", {"email": "ana@example.com", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Demasiados intentos." in text_of(locked)
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    # The counts live in Redis (shared by every web process), keyed by hashes, not the email
    # nor the address.
    keys = redis.Redis.from_url(app.config["REDIS_URL"]).keys(
        app.config["CACHE_KEY_PREFIX"] + "auth:login-*"
    )
    assert keys and all(b"ana@example.com" not in k and b"127.0.0.1" not in k for k in keys)
    # The account is locked from every address, the right password included (finding 2).
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    answer = post_form(other, "/auth/login", {"email": "ana@example.com", "password": PASSWORD})
    assert answer.status_code == 429


def test_a_success_clears_the_failure_count(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    for _ in range(4):
        post_form(client, "/auth/login", {"email": "ana@example.com", "password": "mal"})
    login(client, "ana@example.com")
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    for _ in range(4):
        post_form(client, "/auth/login", {"email": "ana@example.com", "password": "mal"})
    assert login(client, "ana@example.com").status_code == 303


def test_session_id_is_rotated_at_login_and_stored_in_redis(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    csrf_token(client)  # the anonymous visit gets a session (it holds the CSRF secret)
    before = session_cookie(client)
    assert before
    login(client, "ana@example.com")
    after = session_cookie(client)
    assert after and after != before
    store = redis.Redis.from_url(app.config["REDIS_URL"])
    prefix = app.config["CACHE_KEY_PREFIX"] + "sessions:"
    assert store.exists(prefix + after) == 1
    assert store.exists(prefix + before) == 0  # the planted id is worth nothing now


def test_remember_me_sets_a_hardened_cookie(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    response = login(client, "ana@example.com", remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith("talonario_remember="))
    session = next(c for c in cookies if c.startswith("talonario_session="))
    for cookie in (remember, session):
        assert "HttpOnly" in cookie
        assert "Secure" in cookie
        assert "SameSite=Lax" in cookie
    # With only the remember cookie (a browser restart), the user is still signed in.
    client.delete_cookie("talonario_session")
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("target", "landing"),
    [("/organizations/members", "/organizations/members"), ("//evil.example/", "/")],
)
def test_next_parameter_only_goes_to_this_site(app: Flask, target: str, landing: str) -> None:
    seed(app)
    response = post_form(
        app.test_client(),
        f"/auth/login?next={target}",
        {"email": "ana@example.com", "password": PASSWORD},
        token_from="/auth/login",
    )
    assert response.headers["Location"] == landing


def test_anonymous_visitors_are_sent_to_login(app: Flask) -> None:
    response = app.test_client().get("/organizations/members")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
