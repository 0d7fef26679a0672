"""Every page of the app, signed in as the owner of an organization with data, in Chromium.

The `pages` fixture fails a test on any console error: a CSP violation (an inline style or
script, in a page or in an htmx swap), a JS error, an unexpected 4xx/5xx. Every GET route is
either visited here or excluded with its reason, so a new page cannot be forgotten.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from blueprints.customers.imports import UploadedCsv, preview_import
from blueprints.invoices.models import Invoice, InvoiceStatus
from blueprints.organizations.models import Role
from blueprints.organizations.services import (
    apply_logo,
    invite_member,
)
from core.db import db
from core.tasks import run_worker
from tests.browser.conftest import Problems
from tests.demo_world import small_demo
from tests.factories import PASSWORD, make_user
from tests.webhooks_world import endpoint_and_delivery

EMAIL = "owner@example.com"
CSV = (
    "tipo_documento;numero_documento;razon_social;condicion_iva\n"
    "CUIT;30-71234567-1;Almacén Importado SRL;Responsable Inscripto\n"
    "DNI;123;Fila con problemas;Consumidor Final\n"
)

# Path arguments filled with the organization's objects (see `Seeded.arguments`).
ID_ARGUMENTS = {
    "certificate_id",
    "customer_id",
    "delivery_id",
    "endpoint_id",
    "export_id",
    "import_id",
    "invoice_id",
}

# Endpoints that answer a file (a download): fetched, not opened as a page.
DOWNLOADS = {
    "audit.export",
    "certificates.csr",
    "exports.download",
    "invoices.pdf",
    "organizations.logo",
}

# htmx endpoints that answer only their fragment, even to a plain request.
FRAGMENTS = {
    "exports.status",
    "invoices.customer_picker",
    "invoices.exchange_rate",
    "invoices.status",
    "webhooks.deliveries",
}

# The JSON API (`api.*`) is no page: bearer keys only, tested in tests/integration/api/.
JSON_API = "api."

# GET endpoints not opened by `test_every_page_loads_clean`, and why.
EXCLUDED = {
    "static": "files, loaded by every page",
    "health.healthz": "a JSON probe for load balancers, not a page",
    "health.readyz": "a JSON probe for load balancers, not a page",
    "metrics.scrape": "Prometheus text behind its bearer token (tests/integration/test_metrics.py)",
    "auth.login": "opened signed out by test_signed_out_pages_load_clean",
    "auth.signup": "opened signed out by test_signed_out_pages_load_clean",
    "organizations.invitation": "opened by test_signed_out_pages_load_clean (needs a token)",
    "auth.reset_link": "a mailed link (needs a signed token): tests/browser/test_password_reset.py",
    "auth.reset_password_page": "needs a reset token in the session: test_password_reset.py",
    "auth.verify_email": "a mailed link (signed token): security/test_email_verification.py",
    "invoices.bulk": "opened by test_htmx_interactions_stay_clean (needs a job's key)",
    "invoices.bulk_status": "polled by invoices.bulk in test_htmx_interactions_stay_clean",
}


@dataclass
class Seeded:
    organization_id: int
    certificate_id: int
    customer_id: int
    import_id: int
    invoice_ids: dict[str, int]  # by status: draft, authorized, rejected
    invitation_token: str
    endpoint_id: int
    delivery_id: int
    export_id: int = 0  # set once a test starts one (see `start_export`)

    def arguments(self, endpoint: str) -> dict[str, int]:
        invoice = self.invoice_ids["draft" if endpoint == "invoices.edit" else "authorized"]
        return {
            "certificate_id": self.certificate_id,
            "customer_id": self.customer_id,
            "import_id": self.import_id,
            "invoice_id": invoice,
            "export_id": self.export_id,
            "endpoint_id": self.endpoint_id,
            "delivery_id": self.delivery_id,
        }


@pytest.fixture
def seeded(live_app: Flask) -> Seeded:
    return seed_organization(live_app)


def seed_organization(live_app: Flask) -> Seeded:
    """An owner with an organization like the demo's, small: a sandbox certificate, a point of
    sale, customers, authorized invoices, a credit note, a rejected one, drafts, a CSV import
    waiting for confirmation and a pending invitation."""
    with live_app.test_request_context():
        user = make_user(EMAIL, name="Dueña de Prueba")
        report = small_demo(user, seed=11)
        organization_id = report.organization.id
        record = preview_import(
            db.session, organization_id, user, UploadedCsv("clientes.csv", CSV.encode())
        )
        _membership, token = invite_member(
            db.session,
            organization_id,
            user,
            Role.OWNER,
            "contadora@example.com",
            Role.ACCOUNTANT,
            7,
        )
        apply_logo(report.organization, tiny_png())
        db.session.commit()
        invoices = db.session.scalars(
            select(Invoice).where(Invoice.organization_id == organization_id)
        ).all()
        by_status = {str(invoice.status): invoice.id for invoice in invoices}
        customer_id = next(
            invoice.customer_id for invoice in invoices if invoice.customer_id is not None
        )
        endpoint_id, delivery_id = endpoint_and_delivery(organization_id)
        seeded = Seeded(
            organization_id=organization_id,
            certificate_id=report.certificate.id,
            customer_id=customer_id,
            import_id=record.id,
            invoice_ids={
                status: by_status[status]
                for status in (
                    InvoiceStatus.DRAFT,
                    InvoiceStatus.AUTHORIZED,
                    InvoiceStatus.REJECTED,
                )
            },
            invitation_token=token,
            endpoint_id=endpoint_id,
            delivery_id=delivery_id,
        )
        db.session.remove()
    return seeded


def tiny_png() -> bytes:
    """A 1x1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def log_in(page: Page) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Almacén de Todo")


def get_routes(app: Flask) -> dict[str, str]:
    """endpoint -> rule of every GET route whose arguments are ids (or none)."""
    routes = {}
    for rule in app.url_map.iter_rules():
        is_page = not rule.endpoint.startswith(JSON_API)
        if is_page and "GET" in (rule.methods or ()) and rule.arguments <= ID_ARGUMENTS:
            routes[rule.endpoint] = rule.rule
    return routes


def test_every_get_route_is_visited_or_excluded(live_app: Flask) -> None:
    every_get = {
        rule.endpoint
        for rule in live_app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.endpoint.startswith(JSON_API)
    }
    forgotten = every_get - set(get_routes(live_app)) - set(EXCLUDED)
    assert not forgotten, f"GET routes with other path arguments: visit or exclude {forgotten}"
    stale = set(EXCLUDED) - every_get
    assert not stale, f"excluded endpoints that no longer exist: {stale}"


def start_export(page: Page, live_app: Flask) -> int:
    """The list's CSV export runs in the background; its page is /exports/<id>."""
    page.goto("/invoices/")
    page.locator("#invoices-export").click()
    expect(page).to_have_url(re.compile(r"/exports/\d+"))
    with live_app.app_context():
        run_worker(burst=True)
    return int(page.url.rsplit("/", 1)[1])


def test_every_page_loads_clean(page: Page, live_app: Flask, seeded: Seeded) -> None:
    log_in(page)
    routes = get_routes(live_app)
    if "exports.detail" in routes:
        seeded.export_id = start_export(page, live_app)
    for endpoint in sorted(set(routes) - set(EXCLUDED)):
        with live_app.test_request_context():
            url = _url_for(live_app, endpoint, seeded)
        if endpoint in DOWNLOADS:
            download = page.request.get(url)
            assert download.status == 200, (endpoint, url, download.status)
        else:
            response = page.goto(url)
            assert response is not None and response.status == 200, (endpoint, url)
            if endpoint not in FRAGMENTS:
                expect(page.locator("main#main")).to_be_visible()
            page.wait_for_load_state("networkidle")


def _url_for(app: Flask, endpoint: str, seeded: Seeded) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values: dict[str, Any] = {
        name: value for name, value in seeded.arguments(endpoint).items() if name in rule.arguments
    }
    return app.url_for(endpoint, **values)


def test_signed_out_pages_load_clean(page: Page, seeded: Seeded) -> None:
    for path in (
        "/auth/login",
        "/auth/signup",
        f"/organizations/invitations/{seeded.invitation_token}",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        expect(page.locator("main#main")).to_be_visible()
    expect(page.get_by_text("Almacén de Todo").first).to_be_visible()


def test_htmx_interactions_stay_clean(
    page: Page, live_app: Flask, seeded: Seeded, browser_problems: Problems
) -> None:
    log_in(page)

    # Customers: search as you type, filter, inline edit and its cancel, archive.
    page.goto("/customers/")
    rows = page.locator("#customer-rows tr.customer-row")
    page.get_by_label("Buscar").press_sequentially("ferre", delay=30)
    expect(rows).to_have_count(1)
    rows.first.get_by_role("button", name=re.compile("^Editar")).click()
    editing = page.locator("tr.customer-row.is-editing")
    expect(editing).to_be_visible()
    editing.get_by_role("link", name="Cancelar").click()
    expect(editing).to_have_count(0)
    page.get_by_label("Buscar").fill("")
    expect(rows).to_have_count(6)

    # The invoice editor: customer picker, lines, live totals, currency, saving.
    page.goto("/invoices/new")
    page.get_by_label("Cliente").press_sequentially("Ferre", delay=30)
    page.locator("[data-pick-customer]").first.click()
    expect(page.get_by_label("Cliente")).to_have_value(re.compile("Ferretería"))
    page.get_by_label("Los precios incluyen IVA").set_checked(False)
    row = page.locator("#line-0")
    row.get_by_label(re.compile("Descripción")).fill("Tornillos")
    row.get_by_label(re.compile("Cantidad")).fill("3")
    row.get_by_label(re.compile("Precio")).fill("1.000,00")
    row.get_by_label(re.compile("IVA")).select_option(label="21 %")
    expect(page.locator("#total-total")).to_contain_text("3.630,00")
    # A textarea the person resized carries a style attribute: htmx's settling must not copy it
    # to the swapped one (a CSP violation), as it does by default on every editor swap.
    page.locator("details.more-fields").evaluate("details => { details.open = true }")
    page.locator("#notes").evaluate("notes => { notes.style.height = '7rem' }")
    page.get_by_role("button", name="Agregar línea").click()
    row = page.locator("#line-1")
    expect(row).to_be_visible()
    row.get_by_label(re.compile("Descripción")).fill("Tuercas")
    for label, typed in (("Cantidad", "2"), ("Precio", "500")):
        row.get_by_label(re.compile(label)).clear()
        row.get_by_label(re.compile(label)).press_sequentially(typed, delay=30)
    row.get_by_label(re.compile("IVA")).select_option(label="21 %")
    expect(page.locator("#total-total")).to_contain_text("4.840,00")
    page.locator("details.more-fields").evaluate("details => { details.open = true }")
    page.get_by_label("Moneda", exact=True).select_option("DOL")
    page.get_by_role("button", name="Cotización de ARCA").click()
    expect(page.locator("#currency_rate")).not_to_have_value("")
    page.get_by_label("Moneda", exact=True).select_option("PES")
    # Saved through the form (htmx), then the page is the draft's.
    page.get_by_role("button", name="Guardar borrador", exact=True).last.click()
    expect(page.get_by_text("Guardamos el borrador.")).to_be_visible()

    # The status panel: authorize, the queued panel polls until the worker is done.
    invoice_id = re.search(r"/invoices/(\d+)", page.url).group(1)  # type: ignore[union-attr]
    page.goto(f"/invoices/{invoice_id}")
    expect(page.locator("#preflight-ok")).to_be_visible()
    page.get_by_role("button", name="Autorizar en ARCA").click()
    expect(page.get_by_text("En cola")).to_be_visible()
    with live_app.app_context():
        run_worker(burst=True)
    expect(page.locator("[id$='-status'] .badge-success")).to_have_text("Autorizado")

    # The list: filters swap the results; the chosen drafts go to the bulk page, which polls.
    page.goto("/invoices/")
    page.get_by_label("Estado").select_option("draft")
    expect(page).to_have_url(re.compile(r"status=draft"))
    page.locator("#invoices input[name=invoice_id]").first.check()
    page.get_by_role("button", name="Autorizar los borradores elegidos").click()
    expect(page.locator("#bulk-progress")).to_be_visible()
    with live_app.app_context():
        run_worker(burst=True)
    expect(page.locator("#bulk-result")).to_be_visible()

    # Certificates' connection test, ARCA's parameters, members, the CSV import's progress.
    page.goto("/certificates/")
    page.get_by_role("button", name="Probar conexión").click()
    expect(page.locator("#connection-points_of_sale .badge-success")).to_have_text("OK")
    page.goto("/arca/parameters")
    page.get_by_role("button", name=re.compile("Actualizar|Consultar")).first.click()
    page.wait_for_load_state("networkidle")
    page.goto("/organizations/members")
    page.get_by_label("Rol de contadora@example.com").select_option(Role.ADMIN.value)
    page.wait_for_load_state("networkidle")
    page.goto(f"/customers/imports/{seeded.import_id}")
    page.get_by_role("button", name=re.compile("Importar")).first.click()
    with live_app.app_context():
        run_worker(burst=True)
    page.wait_for_load_state("networkidle")
