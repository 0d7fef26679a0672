"""Issue #18's FCE acceptance in Chromium: a Responsable Inscripto sets its CBU in the settings,
invoices a large company (obligated in the sandbox's wsfecred) above ARCA's amount, accepts the
editor's FCE offer, fills the payment due date, reviews, authorizes (type 201) and opens the
printed FCE."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from core.tasks import run_worker
from tests.browser.conftest import Problems
from tests.browser.test_auth_flow import expect_dashboard, sign_up
from tests.browser.test_invoices import fill_line, get_certified
from tests.pdf_tools import pdf_text, words

# A CUIT of its own: WSAA refuses a second ticket for the same subject within its window, and
# the live sandbox outlives each test.
ISSUER_CUIT = "30-71555888-9"
BIG_COMPANY = "30500010912"  # arca/sandbox/wsfecred_data.py: obligated from ARS 3.958.316
CBU = "2850590940090418135201"


def add_big_customer(app: Flask) -> None:
    with app.app_context():
        organization_id = db.session.scalars(
            select(Organization.id).where(Organization.cuit == ISSUER_CUIT.replace("-", ""))
        ).one()
        fields = CustomerFields("80", BIG_COMPANY, "Gran Empresa de Homologación SA", "1")
        create_customer(db.session, organization_id, fields, None)


def test_an_fce_for_a_large_company_is_offered_authorized_and_printed(
    page: Page, live_app: Flask, tmp_path: Path, browser_problems: Problems
) -> None:
    browser_problems.allow_http_error(422, "/organizations/settings")  # the wrong CBU, shown
    sign_up(page, cuit=ISSUER_CUIT, app=live_app)
    expect_dashboard(page)
    get_certified(page)

    # The CBU goes in the organization's settings, checked as ARCA checks it.
    page.goto("/organizations/settings")
    page.get_by_label("CBU", exact=True).fill(CBU[:-1] + "9")
    page.get_by_role("button", name="Guardar").click()
    expect(page.get_by_text("sus dígitos verificadores no coinciden")).to_be_visible()
    page.get_by_label("CBU", exact=True).fill(CBU)
    page.get_by_label("Alias del CBU").fill("acero.sur.pago")
    page.get_by_role("button", name="Guardar").click()
    expect(page.get_by_text("Guardamos los datos de la organización.")).to_be_visible()
    add_big_customer(live_app)

    page.goto("/invoices/new")
    page.get_by_label("Cliente").press_sequentially("Gran Empresa", delay=30)
    page.locator("[data-pick-customer]").first.click()
    fill_line(page, 0, "Bobinas de acero", "1", "5.000.000,00", "21 %")
    expect(page.locator("#invoice-totals .letter-box")).to_have_text("A")
    offer = page.locator("#fce-offer")
    expect(offer).to_contain_text(
        "Este cliente es una gran empresa: por este monto corresponde Factura de Crédito "
        "Electrónica MiPyME (FCE)"
    )
    offer.get_by_role("button", name="Emitir como FCE").click()
    panel = page.locator("#fce-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#fce-cbu")).to_have_text(CBU)
    expect(panel.locator("#fce-alias")).to_have_text("acero.sur.pago")
    expect(page.locator("#fce-problems")).to_contain_text("vencimiento del pago")
    with live_app.app_context():
        today = arca_today(get_arca())
    panel.get_by_label("Vencimiento del pago").fill(today.isoformat())
    expect(page.locator("#fce-problems")).to_have_count(0)

    page.get_by_role("button", name="Revisar y autorizar").click()
    expect(page.get_by_role("heading", name="¿Lo aceptaría ARCA?")).to_be_visible()
    expect(page.locator("#preflight-ok")).to_contain_text("Todo en orden")
    page.get_by_role("button", name="Autorizar en ARCA").click()
    expect(page.get_by_text("En cola")).to_be_visible()
    with live_app.app_context():
        run_worker(burst=True)
    status = page.locator("[id$='-status']")
    expect(status.locator(".badge-success")).to_have_text("Autorizado", timeout=10_000)
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Factura de Crédito electrónica MiPyMEs (FCE) A 00001-00000001"
    )

    invoice_id = re.search(r"/invoices/(\d+)", page.url).group(1)  # type: ignore[union-attr]
    pdf = page.request.get(f"/invoices/{invoice_id}/pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    printed = words(pdf_text(pdf.body(), tmp_path)[0])
    assert "FACTURA DE CRÉDITO ELECTRÓNICA MiPyMEs (FCE)" in printed
    assert "Código 201" in printed and f"CBU del emisor: {CBU}" in printed
    assert "Transferencia al Sistema de Circulación Abierta" in printed
