"""Contingency in Chromium: ARCA goes down mid-authorization, the voucher is issued with the
fortnight's CAEA, a banner stays on every page until the job informs it once ARCA is back."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Dialog, Page, expect

from arca.sandbox.faults import wsfe_unavailable
from core.arca import get_arca
from core.tasks import run_worker
from tests.browser.test_auth_flow import expect_dashboard, sign_up
from tests.browser.test_invoices import fill_line, get_certified


def test_arca_down_issue_with_the_caea_banner_until_informed(page: Page, live_app: Flask) -> None:
    # A CUIT of its own: the live sandbox outlives each test (see test_invoices).
    sign_up(page, cuit="30-71234591-4", app=live_app)
    expect_dashboard(page)
    get_certified(page)  # syncs ARCA's points of sale: 00006 is the CAEA one

    page.goto("/invoices/contingencia")
    expect(page.locator("#caea-point")).to_contain_text("00006")
    page.get_by_role("button", name="Pedir CAEA").click()
    expect(page.get_by_text(re.compile(r"CAEA vigentes: \d{14}"))).to_be_visible()
    expect(page.locator("#caea-current")).to_contain_text("CAEA vigente hoy")

    page.goto("/invoices/new")
    page.get_by_label("Los precios incluyen IVA").check()
    fill_line(page, 0, "Yerba mate 1 kg", "1", "4.840,00", "21 %")
    page.get_by_role("button", name="Guardar borrador", exact=True).last.click()
    expect(page.get_by_text("Guardamos el borrador.")).to_be_visible()
    invoice_id = re.search(r"/invoices/(\d+)/edit", page.url).group(1)  # type: ignore[union-attr]
    page.goto(f"/invoices/{invoice_id}")
    expect(page.locator("#preflight-ok")).to_be_visible()

    with live_app.app_context():
        get_arca().sandbox().faults.add(wsfe_unavailable())
    try:
        page.get_by_role("button", name="Autorizar en ARCA").click()
        expect(page.get_by_text("En cola")).to_be_visible()
        with live_app.app_context():
            run_worker(burst=True)  # ARCA does not answer: the request waits, saying why
        page.reload()
        expect(page.locator("#waiting-reasons")).to_be_visible()
        page.once("dialog", lambda dialog: accept(dialog))
        page.get_by_role("button", name="Emitir con CAEA").click()
        expect(page.get_by_text(re.compile("Emitido en contingencia con el CAEA"))).to_be_visible()
        expect(page.locator("#caea-report-status")).to_contain_text("Falta informarlo")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Factura B 00006-00000001")
        page.goto("/customers/")  # the banner is on every page
        expect(page.locator("#contingency-banner")).to_contain_text("espera ser informado")
    finally:
        with live_app.app_context():
            get_arca().sandbox().faults.clear()

    page.goto("/invoices/contingencia")
    page.get_by_role("button", name="Informar ahora").click()
    with live_app.app_context():
        run_worker(burst=True)
    page.goto("/invoices/contingencia")
    expect(page.locator(f"#caea-report-{invoice_id}")).to_contain_text("Informado")
    expect(page.locator("#contingency-banner")).to_have_count(0)


def accept(dialog: Dialog) -> None:
    dialog.accept()
