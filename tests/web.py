"""Driving the app like a browser does: forms carry their CSRF token, htmx sends its headers."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, TestResponse

from tests.factories import PASSWORD

_TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/auth/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(
    client: FlaskClient,
    path: str,
    data: dict[str, Any],
    token_from: str | None = None,
    **kwargs: Any,
) -> TestResponse:
    token = csrf_token(client, token_from or path)
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def htmx_headers(token: str | None = None) -> dict[str, str]:
    headers = {"HX-Request": "true"}
    if token:
        headers["X-CSRFToken"] = token
    return headers


def login(client: FlaskClient, email: str, password: str = PASSWORD, **extra: Any) -> TestResponse:
    response = post_form(client, "/auth/login", {"email": email, "password": password, **extra})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def text_of(response: TestResponse) -> str:
    """The visible text, whitespace folded: what a person reads."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def post_files(
    client: FlaskClient, path: str, data: dict[str, Any], headers: dict[str, str]
) -> TestResponse:
    """A multipart POST. Werkzeug spools a large body to a temporary file and never closes it;
    closing it here keeps `filterwarnings=error` from tripping over the ResourceWarning."""
    builder = EnvironBuilder(path=path, method="POST", data=data, headers=headers)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
