"""Open redirect (issue #15, finding 3): `next` and every redirect target built from input is a
same-site path, or the default page. Over real HTTP, on PostgreSQL and Redis: the Location header
is what the server wrote on the wire.

The probe's cases: `POST /auth/login?next=%2F%09%2Fevil.example` answered
`Location: //evil.example` (a browser drops the tab), the same on `/account/language`, and a
`next` with a newline was a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask import Flask

from core.web import safe_next, same_site_path
from tests.factories import PASSWORD, make_organization, make_user
from tests.integration.security.live_http import Browser, serve

EMAIL = "ana@example.com"

# Each of these, decoded, must not leave the site: control characters anywhere (browsers strip
# tab, CR and LF inside a URL), a second slash or a backslash after the first, a scheme.
OFFSITE = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\x7f/evil.example",
    "/\u2028/evil.example",
    "/ /evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    "/invoices\nSet-Cookie: x=1",
]
SAME_SITE = ["/organizations/members", "/invoices?page=2&status=draft", "/customers/josé"]


@pytest.mark.parametrize("target", OFFSITE)
def test_safe_next_refuses_anything_but_a_plain_path(target: str) -> None:
    assert safe_next(target, "/fallback") == "/fallback"


@pytest.mark.parametrize("target", SAME_SITE)
def test_safe_next_keeps_a_path_of_this_site(target: str) -> None:
    assert safe_next(target, "/fallback") == target


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    with app.app_context():
        make_organization(owner=make_user(email=EMAIL), legal_name="Almacén Demo SRL")
    with serve(app) as url:
        yield url


@pytest.fixture
def browser(base_url: str) -> Iterator[Browser]:
    visitor = Browser(base_url)
    yield visitor
    visitor.close()


def login_with_next(browser: Browser, encoded_next: str) -> str:
    token = browser.csrf_token("/auth/login")
    response = browser.post(
        f"/auth/login?next={encoded_next}", {"email": EMAIL, "password": PASSWORD}, token
    )
    assert response.status_code == 303, response.text
    return response.headers["Location"]


@pytest.mark.parametrize(
    "encoded",
    [
        "%2F%09%2Fevil.example",  # the probe's exact case
        "%2F%0A%2Fevil.example",  # a newline: was a 500
        "%2F%0D%0A%2Fevil.example",
        "%09%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
    ],
)
def test_login_next_with_control_characters_or_another_host_lands_on_the_dashboard(
    browser: Browser, encoded: str
) -> None:
    assert login_with_next(browser, encoded) == "/"


def test_login_next_to_a_page_of_this_site_is_followed(browser: Browser) -> None:
    assert login_with_next(browser, quote("/organizations/members", safe="")) == (
        "/organizations/members"
    )


@pytest.mark.parametrize(
    "target", ["/\t/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example"]
)
def test_language_switch_goes_back_only_to_this_site(browser: Browser, target: str) -> None:
    response = browser.post("/account/language", {"locale": "en", "next": target}, _token(browser))
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_language_switch_goes_back_to_the_page_it_came_from(browser: Browser) -> None:
    response = browser.post(
        "/account/language", {"locale": "en", "next": "/auth/login"}, _token(browser)
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/login"


@pytest.mark.parametrize(
    ("referrer", "back"),
    [
        ("http://localhost/customers?page=2", "/customers?page=2"),
        ("http://localhost/\t/evil.example", None),
        ("http://localhost//evil.example", None),
        ("http://evil.example/customers", None),
        ("http://localhost/customers\n", None),
    ],
)
def test_a_refused_form_goes_back_only_to_a_same_site_referrer(
    app: Flask, referrer: str, back: str | None
) -> None:
    """A refused plain form post goes back to its Referer: only when that is this site."""
    with app.test_request_context("/customers", headers={"Host": "localhost"}):
        assert same_site_path(referrer) == back


def _token(browser: Browser) -> str:
    # The language form sits on every page; the login page is one anonymous visitors see.
    return browser.csrf_token("/auth/login")
