"""A Factura B in Chromium: two VAT rates, live totals, preflight, authorization, the CAE."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from core.tasks import run_worker
from tests.browser.test_auth_flow import expect_dashboard, sign_up


def get_certified(page: Page) -> None:
    """The certificates page's one-click sandbox path, then the connection test (which also
    records ARCA's points of sale)."""
    page.goto("/certificates/")
    page.get_by_role("button", name="Generar", exact=True).click()
    page.locator(".pending-certificate").get_by_role(
        "button", name="Emitir con la CA de prueba"
    ).click()
    page.locator("#active-certificate").get_by_role("button", name="Probar conexión").click()
    expect(page.locator("#connection-points_of_sale .badge-success")).to_have_text("OK")


def fill_line(
    page: Page, index: int, description: str, quantity: str, price: str, vat: str
) -> None:
    row = page.locator(f"#line-{index}")
    row.get_by_label(re.compile("Descripción")).fill(description)
    row.get_by_label(re.compile("Cantidad")).fill(quantity)
    row.get_by_label(re.compile("Precio")).fill(price)
    row.get_by_label(re.compile("IVA")).select_option(label=vat)


def test_factura_b_with_two_rates_gets_its_cae(page: Page, live_app: Flask) -> None:
    # A CUIT of its own: WSAA refuses a second ticket for the same subject within its window,
    # and the live sandbox outlives each test.
    sign_up(page, cuit="30-71234573-6", app=live_app)
    expect_dashboard(page)
    get_certified(page)

    page.get_by_role("navigation").get_by_role("link", name="Comprobantes").click()
    page.get_by_role("link", name="Nueva factura").click()
    page.get_by_label("Los precios incluyen IVA").check()
    fill_line(page, 0, "Yerba mate 1 kg", "2", "4.840,00", "21 %")
    page.get_by_role("button", name="Agregar línea").click()
    expect(page.locator("#line-1")).to_be_visible()
    fill_line(page, 1, "Libro de cocina", "1", "11.050,00", "10,5 %")
    totals = page.locator("#invoice-totals")
    expect(totals.locator(".letter-box")).to_have_text("B")
    expect(totals.locator("#total-total")).to_contain_text("20.730,00")
    expect(totals).to_contain_text("IVA 21 %")
    expect(totals).to_contain_text("IVA 10,5 %")

    # Saved as a draft first: the invoice page runs the preflight ("¿Lo aceptaría ARCA?").
    page.get_by_role("button", name="Guardar borrador", exact=True).last.click()
    expect(page.get_by_text("Guardamos el borrador.")).to_be_visible()
    invoice_id = re.search(r"/invoices/(\d+)/edit", page.url).group(1)  # type: ignore[union-attr]
    page.goto(f"/invoices/{invoice_id}")
    expect(page.get_by_role("heading", name="¿Lo aceptaría ARCA?")).to_be_visible()
    expect(page.locator("#preflight-ok")).to_contain_text("Todo en orden")
    page.get_by_role("button", name="Autorizar en ARCA").click()
    expect(page.get_by_text("En cola")).to_be_visible()
    with live_app.app_context():
        run_worker(burst=True)
    status = page.locator("[id$='-status']")
    expect(status.locator(".badge-success")).to_have_text("Autorizado", timeout=10_000)
    expect(status).to_contain_text(re.compile(r"CAE \d{14}, vence el \d{2}/\d{2}/\d{4}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Factura B 00001-00000001")
    expect(page.locator("#invoice-total")).to_contain_text("20.730,00")

    # The list finds it by number; its CSV and the month's package are built by a job whose
    # page polls until the download is there.
    page.goto("/invoices/")
    page.get_by_label("Buscar").press_sequentially("00001-00000001", delay=20)
    expect(page).to_have_url(re.compile(r"q=00001-00000001"))
    expect(page.locator("#invoices tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Exportar CSV").click()
    expect(page.locator("#export-progress")).to_be_visible()
    with live_app.app_context():
        run_worker(burst=True)
    with page.expect_download() as csv_download:
        page.locator("#export-download").click()
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("fecha;tipo;codigo_tipo;") and ";Factura B;6;00001;00000001;" in text

    page.goto("/invoices/")
    page.get_by_role("link", name="Paquete del mes para el contador").click()
    month = page.get_by_label("Mes")
    month.fill(month.get_attribute("max") or "")  # this month, ARCA's; it defaults to the last
    page.get_by_role("button", name="Preparar el paquete").click()
    expect(page.locator("#export-progress")).to_be_visible()
    with live_app.app_context():
        run_worker(burst=True)
    with page.expect_download() as zip_download:
        page.locator("#export-download").click()
    assert zip_download.value.suggested_filename.startswith("talonario-")
