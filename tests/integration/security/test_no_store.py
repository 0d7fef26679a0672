"""No `Cache-Control: no-store` on private pages, PDFs and exports (issue #15, finding 7): a
shared computer's browser cache, or a proxy, kept a business's invoices after logout. Every
response to a signed-in person or an API key now says `no-store`; static files and the public
pages keep their caching. PostgreSQL + Redis, the sandbox ARCA for a real invoice PDF."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from core.db import db
from tests.api import bearer, make_api_key
from tests.exports import exported
from tests.factories import add_member, make_user
from tests.integration.test_invoices import authorize, certified, draft
from tests.web import login

COFFEE = Line("Café en grano 1 kg", Decimal("2"), Decimal("12100.00"), vat=5)


def no_store(response: TestResponse) -> bool:
    directives = {d.strip() for d in response.headers.get("Cache-Control", "").split(",")}
    return "no-store" in directives


@pytest.fixture
def signed_in(app: Flask) -> tuple[FlaskClient, int, int]:
    """A member of a certified organization, signed in, and one authorized invoice."""
    with app.app_context():
        organization_id = certified()
        user = make_user(email="caja@example.com")
        add_member(db.session.get_one(Organization, organization_id), user, "admin")
        invoice_id = authorize(draft(organization_id, [COFFEE]).id).id
    client = app.test_client()
    login(client, "caja@example.com")
    return client, organization_id, invoice_id


PAGES = [
    "/",
    "/invoices/",
    "/customers/",
    "/certificates/",
    "/points-of-sale/",
    "/organizations/members",
    "/organizations/settings",
    "/webhooks/",
    "/invoices/999999",  # a 404 page, still a signed-in person's
]


def test_every_page_of_a_signed_in_person_says_no_store(
    signed_in: tuple[FlaskClient, int, int],
) -> None:
    client, _organization_id, invoice_id = signed_in
    for path in [*PAGES, f"/invoices/{invoice_id}"]:
        response = client.get(path)
        assert response.status_code < 500, path
        assert no_store(response), f"{path}: {response.headers.get('Cache-Control')}"
    fragment = client.get("/invoices/", headers={"HX-Request": "true"})
    assert no_store(fragment)


def test_a_pdf_and_an_export_say_no_store(
    app: Flask, signed_in: tuple[FlaskClient, int, int]
) -> None:
    client, _organization_id, invoice_id = signed_in
    for pdf in (f"/invoices/{invoice_id}/pdf", f"/invoices/{invoice_id}/pdf?descargar=1"):
        response = client.get(pdf)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert no_store(response)
    download = exported(app, client, "/invoices/export", {"status": "authorized"}, "/invoices/")
    assert no_store(download)


def test_api_answers_say_no_store(app: Flask, signed_in: tuple[FlaskClient, int, int]) -> None:
    _client, organization_id, invoice_id = signed_in
    secret = make_api_key(app, organization_id)
    api = app.test_client()
    for path in ("/api/v1/invoices", f"/api/v1/invoices/{invoice_id}", "/api/v1/customers"):
        response = api.get(path, headers=bearer(secret))
        assert response.status_code == 200, path
        assert no_store(response), path
    refused = api.get("/api/v1/invoices", headers=bearer("tal_" + "x" * 43))
    assert refused.status_code == 401 and no_store(refused)


def test_static_files_and_public_pages_keep_their_caching(
    app: Flask, signed_in: tuple[FlaskClient, int, int]
) -> None:
    client, _organization_id, _invoice_id = signed_in
    # A static file is the same for everyone: cacheable even when a signed-in person asks.
    for path in ("/static/css/app.css", "/static/vendor/htmx-2.0.11.min.js"):
        response = client.get(path)
        assert response.status_code == 200 and not no_store(response), path
        response.close()
    anonymous = app.test_client()
    for path in ("/auth/login", "/auth/signup"):
        response = anonymous.get(path)
        assert response.status_code == 200 and not no_store(response), path
