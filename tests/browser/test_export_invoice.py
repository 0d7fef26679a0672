"""A Factura E in Chromium: a customer in the United States made on the customer page, an
invoice of services in dollars at a typed rate, the export panel, review, authorization through
WSFEXv1 (type 19), and the PDF with its letter E and its QR."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from core.tasks import run_worker
from tests.browser.test_auth_flow import expect_dashboard, sign_up
from tests.browser.test_invoices import fill_line, get_certified
from tests.pdf_tools import decode_qr, pdf_text, words


def add_customer_abroad(page: Page) -> None:
    page.goto("/customers/new")
    page.get_by_label("Nombre o razón social").fill("Acme Corp")
    page.get_by_label("Condición frente al IVA").select_option(label="Cliente del Exterior")
    page.get_by_label("Domicilio").fill("1 Main St, Springfield, IL")
    page.get_by_label("País", exact=True).select_option(label="ESTADOS UNIDOS")
    page.get_by_label("CUIT del país").select_option(
        label="ESTADOS UNIDOS - Persona Jurídica (55000002126)"
    )
    page.get_by_label("Identificación tributaria en su país").fill("12-3456789")
    page.get_by_role("button", name="Guardar cliente").click()
    expect(page.get_by_text("Agregaste a «Acme Corp».")).to_be_visible()
    expect(page.locator("#customer-country")).to_have_text("ESTADOS UNIDOS")


def test_factura_e_of_services_in_dollars(page: Page, live_app: Flask, tmp_path: Path) -> None:
    # A CUIT of its own: WSAA refuses a second ticket for the same subject within its window.
    sign_up(page, cuit="30-71234625-2", app=live_app)
    expect_dashboard(page)
    get_certified(page)
    add_customer_abroad(page)

    page.get_by_role("navigation").get_by_role("link", name="Comprobantes").click()
    page.get_by_role("link", name="Nueva factura").click()
    page.get_by_label("Cliente", exact=True).press_sequentially("Acme", delay=20)
    page.locator("[data-pick-customer]", has_text="Acme Corp").click()
    totals = page.locator("#invoice-totals")
    expect(totals.locator(".letter-box")).to_have_text("E")
    expect(totals).to_contain_text("Factura E: el cliente está en el exterior")
    panel = page.locator("#export-fields")
    expect(panel.get_by_label("País de destino", exact=True)).to_have_value("212")
    expect(panel.get_by_label("Incoterms", exact=True)).to_be_visible()  # products, by default

    page.get_by_label("Concepto").select_option(label="Servicios")
    expect(panel.get_by_label("Incoterms", exact=True)).to_have_count(0)  # services: none
    panel.get_by_label("Idioma del comprobante").select_option(label="Inglés")
    panel.get_by_label("Forma de pago").fill("Transferencia bancaria")
    page.locator("summary", has_text="Servicios, moneda y observaciones").click()
    page.get_by_label("Moneda", exact=True).select_option(label="Dólar estadounidense")
    page.get_by_label("Cotización", exact=True).fill("1.000")
    fill_line(page, 0, "Desarrollo de software", "10", "150", "21 %")
    expect(totals.locator("#total-total")).to_contain_text("1.500,00")
    expect(totals).not_to_contain_text("IVA 21")

    page.get_by_role("button", name="Revisar y autorizar").click()
    expect(page.get_by_role("heading", name="¿Lo aceptaría ARCA?")).to_be_visible()
    expect(page.locator("#preflight-ok")).to_contain_text("Todo en orden")
    invoice_id = re.search(r"/invoices/(\d+)", page.url).group(1)  # type: ignore[union-attr]
    page.get_by_role("button", name="Autorizar en ARCA").click()
    with live_app.app_context():
        run_worker(burst=True)
    status = page.locator("[id$='-status']")
    expect(status.locator(".badge-success")).to_have_text("Autorizado", timeout=10_000)
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Factura de Exportación 00001-00000001"
    )

    response = page.request.get(f"/invoices/{invoice_id}/pdf")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = response.body()
    text = words(pdf_text(pdf, tmp_path)[0])
    assert "E Código 019 FACTURA DE EXPORTACIÓN" in text
    assert "País de destino: ESTADOS UNIDOS" in text
    codes = decode_qr(pdf, tmp_path)
    assert len(codes) == 1
    payload = json.loads(base64.b64decode(codes[0].split("?p=", 1)[1]))
    assert (payload["tipoCmp"], payload["moneda"], payload["ctz"]) == (19, "DOL", 1000)
    assert (payload["tipoDocRec"], payload["nroDocRec"]) == (80, 55000002126)
