"""The app served over real HTTP on loopback, for tests whose finding lives in the HTTP layer
(concurrent logins, Location headers, the access log), and a `requests` session that speaks to it
like a browser: cookies kept, forms posted with their CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import serving

_TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """`app` on a threaded werkzeug server on a free port (werkzeug's own access log on);
    yields its base URL and stops it after."""
    with serving(make_server("127.0.0.1", 0, app, threaded=True), "security-live") as base_url:
        yield base_url


class Browser:
    """One visitor: its own cookies. Redirects are never followed, so a test sees the Location."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.http.request(
            method, self.base_url + path, allow_redirects=False, timeout=30, **kwargs
        )
        # The app's cookies are Secure, as in production; like Chromium, treat plain HTTP on
        # loopback as a secure context and send them back.
        for cookie in self.http.cookies:
            cookie.secure = False
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def csrf_token(self, path: str) -> str:
        match = _TOKEN.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return unescape(match.group(1))

    def post(
        self, path: str, data: dict[str, Any], token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        token = token or self.csrf_token(path.split("?", 1)[0])
        return self.request("POST", path, data={"csrf_token": token, **data}, **kwargs)
