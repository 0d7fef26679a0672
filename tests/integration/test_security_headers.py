from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.factories import make_organization, make_user
from tests.web import login


@pytest.mark.parametrize("path", ["/auth/login", "/auth/signup", "/healthz", "/no-existe"])
def test_every_response_carries_the_security_headers(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_and_no_cdn(app: Flask) -> None:
    with app.app_context():
        make_organization(owner=make_user(email="ana@example.com"))
    client = app.test_client()
    login(client, "ana@example.com")
    for path in ["/", "/organizations/members", "/organizations/settings", "/organizations/new"]:
        html = client.get(path).get_data(as_text=True)
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
        assert scripts, path
        for attributes, body in scripts:
            assert body.strip() == "", f"inline script on {path}"
            assert 'src="/static/' in attributes, f"external script on {path}"
        assert not re.search(r"<[^>]+\son[a-z]+=", html), f"inline handler on {path}"
        assert not re.search(r'(src|href)="(https?:)?//', html), f"off-site asset on {path}"


def test_htmx_is_vendored_and_sends_the_csrf_token(app: Flask) -> None:
    html = app.test_client().get("/auth/login").get_data(as_text=True)
    assert "/static/vendor/htmx-2." in html
    assert 'hx-headers=\'{"X-CSRFToken": ' in html
    with app.test_client().get("/static/vendor/htmx-2.0.11.min.js") as asset:
        assert asset.status_code == 200
        assert b'version:"2.0.11"' in asset.data
