"""Mi cuenta → Sesiones: every open login of the person, where from, and closing them (issue #15,
finding 1). PostgreSQL + Redis, through the app's HTTP stack."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blueprints.auth.models import User, UserSession
from core.db import db
from tests.factories import make_organization, make_user
from tests.web import csrf_token, htmx_headers, login, text_of

EMAIL = "ana@example.com"
CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def seed(app: Flask, email: str = EMAIL) -> None:
    with app.app_context():
        make_organization(owner=make_user(email=email), legal_name="Almacén Demo SRL")


def browser(app: Flask, user_agent: str, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    client.environ_base["REMOTE_ADDR"] = address
    return client


def session_ids(app: Flask, email: str = EMAIL) -> dict[str, int]:
    """Live rows of `email` by user agent."""
    with app.app_context():
        rows = db.session.scalars(
            select(UserSession)
            .join(User, User.id == UserSession.user_id)
            .where(User.email == email, UserSession.revoked_at.is_(None))
        )
        return {row.user_agent: row.id for row in rows}


def sends_to_login(client: FlaskClient) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def test_the_page_lists_both_logins_and_closes_one(app: Flask) -> None:
    seed(app)
    laptop = browser(app, CHROME_LINUX, "198.51.100.7")
    desktop = browser(app, FIREFOX_WINDOWS, "203.0.113.20")
    login(laptop, EMAIL)
    login(desktop, EMAIL, remember="y")

    page = laptop.get("/account/sessions")
    assert page.status_code == 200
    text = text_of(page)
    assert "Chrome en Linux" in text and "198.51.100.7" in text
    assert "Firefox en Windows" in text and "203.0.113.20" in text
    assert text.count("Esta sesión") == 1
    assert text.index("Chrome en Linux") < text.index("Esta sesión") < text.index("Firefox")

    fragment = laptop.get("/account/sessions", headers=htmx_headers())
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="sessions"')
    assert "Firefox en Windows" in text_of(fragment)

    other = session_ids(app)[FIREFOX_WINDOWS]
    token = csrf_token(laptop, "/account/sessions")
    closed = laptop.post(
        "/account/sessions/end",
        data={"csrf_token": token, "session_id": other},
        headers=htmx_headers(),
    )
    assert closed.status_code == 200
    assert 'id="sessions"' in closed.get_data(as_text=True)
    assert "Firefox en Windows" not in text_of(closed)
    assert sends_to_login(desktop)
    assert laptop.get("/").status_code == 200


def test_closing_without_htmx_answers_see_other(app: Flask) -> None:
    seed(app)
    first, second = browser(app, CHROME_LINUX, "198.51.100.7"), app.test_client()
    login(first, EMAIL)
    login(second, EMAIL)
    other = next(i for agent, i in session_ids(app).items() if agent != CHROME_LINUX)
    token = csrf_token(first, "/account/sessions")
    response = first.post("/account/sessions/end", data={"csrf_token": token, "session_id": other})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/sessions"
    assert sends_to_login(second)


def test_close_all_the_others_keeps_this_one(app: Flask) -> None:
    seed(app)
    here = browser(app, CHROME_LINUX, "198.51.100.7")
    others = [browser(app, FIREFOX_WINDOWS, f"203.0.113.{n}") for n in (1, 2)]
    login(here, EMAIL)
    for client in others:
        login(client, EMAIL, remember="y")
    token = csrf_token(here, "/account/sessions")
    response = here.post("/account/sessions/end-others", data={"csrf_token": token})
    assert response.status_code == 303
    assert all(sends_to_login(client) for client in others)
    assert here.get("/").status_code == 200
    assert list(session_ids(app)) == [CHROME_LINUX]


def test_another_users_session_is_not_found(app: Flask) -> None:
    seed(app)
    seed(app, "beto@example.com")
    ana, beto = app.test_client(), app.test_client()
    login(ana, EMAIL)
    login(beto, "beto@example.com")
    betos = next(iter(session_ids(app, "beto@example.com").values()))
    token = csrf_token(ana, "/account/sessions")
    response = ana.post("/account/sessions/end", data={"csrf_token": token, "session_id": betos})
    assert response.status_code == 404
    assert beto.get("/").status_code == 200
    assert "Esta sesión" in text_of(beto.get("/account/sessions"))
    for junk in ("999999", "abc", ""):
        answer = ana.post("/account/sessions/end", data={"csrf_token": token, "session_id": junk})
        assert answer.status_code == 404, junk


def test_the_pages_need_a_login(app: Flask) -> None:
    client = app.test_client()
    for path in ("/account/", "/account/sessions", "/account/password"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/auth/login")


def test_my_account_links_to_password_and_sessions(app: Flask) -> None:
    seed(app)
    client = app.test_client()
    login(client, EMAIL)
    html = client.get("/account/").get_data(as_text=True)
    assert 'href="/account/password"' in html
    assert 'href="/account/sessions"' in html
