"""The certificate setup a new business walks through, in Chromium against the live app."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from core.arca import get_arca
from tests.browser.conftest import Problems
from tests.browser.test_auth_flow import expect_dashboard, sign_up


def generate_request(page: Page, alias: str | None = None) -> None:
    if alias:
        page.get_by_label("Alias").fill(alias)
    page.get_by_role("button", name="Generar", exact=True).click()


def test_new_business_gets_a_certificate_and_reaches_arca(
    page: Page, live_app: Flask, tmp_path: Path
) -> None:
    sign_up(page, app=live_app)
    expect_dashboard(page)
    page.locator("#setup-step-certificate").get_by_role("link", name="Empezar").click()
    expect(page).to_have_url(re.compile(r"/certificates/$"))
    expect(page.get_by_text("Todavía no hay un certificado activo")).to_be_visible()

    generate_request(page)
    expect(page.get_by_text(re.compile(r"Generamos la clave y el pedido"))).to_be_visible()
    pending = page.locator(".pending-certificate")
    expect(pending).to_contain_text("falta el certificado de ARCA")
    with page.expect_download() as download_info:
        pending.get_by_role("link", name=re.compile(r"Descargar el CSR")).click()
    csr = tmp_path / "pedido.csr"
    download_info.value.save_as(csr)
    assert csr.read_bytes().startswith(b"-----BEGIN CERTIFICATE REQUEST-----")

    pending.get_by_role("button", name="Emitir con la CA de prueba").click()
    expect(page.get_by_text(re.compile(r"La CA de prueba emitió el certificado"))).to_be_visible()
    active = page.locator("#active-certificate")
    expect(active.locator(".badge-success", has_text="Activo")).to_be_visible()
    expect(active).to_contain_text("Computadores Sandbox")

    active.get_by_role("button", name="Probar conexión").click()
    report = page.locator("#connection-report")
    expect(report.locator("#connection-dummy")).to_contain_text("OK")
    expect(report.locator("#connection-login")).to_contain_text("Autenticación WSAA")
    expect(report.locator("#connection-login .badge-success")).to_have_text("OK")
    expect(report.locator("#connection-points_of_sale .badge-success")).to_have_text("OK")
    # The sandbox's five CAE points of sale and its CAEA (contingency) one.
    expect(report.locator("[data-point-of-sale]")).to_have_count(6)
    expect(report.locator("[data-point-of-sale='1']")).to_have_text("00001")

    # The connection test recorded what ARCA listed: the points of sale page shows them.
    page.get_by_role("navigation").get_by_role("link", name="Puntos de venta").click()
    expect(page).to_have_url(re.compile(r"/points-of-sale/$"))
    points = page.locator("#points-of-sale article.point-of-sale")
    expect(points).to_have_count(6)
    expect(points.first.locator(".point-number")).to_have_text("00001")
    expect(points.first.locator(".badge-success")).to_have_text("Habilitado")

    page.goto("/")
    expect(page.locator("#setup-step-certificate")).to_have_class(re.compile(r"is-done"))


def test_renewal_by_uploading_arca_s_file(
    page: Page, live_app: Flask, tmp_path: Path, browser_problems: Problems
) -> None:
    sign_up(page, cuit="30-71234569-8", app=live_app)
    page.goto("/certificates/")
    generate_request(page, "renovacion-2026")
    pending = page.locator(".pending-certificate")
    certificate_id = (pending.get_attribute("id") or "").removeprefix("certificate-")
    # The refused upload comes back under 422 (by design), which Chromium logs.
    browser_problems.allow_http_error(422, f"/certificates/{certificate_id}/upload")
    with page.expect_download() as download_info:
        pending.get_by_role("link", name=re.compile(r"Descargar el CSR")).click()
    csr = Path(download_info.value.path()).read_bytes()

    garbage = tmp_path / "foto.crt"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\nno es un certificado")
    pending.get_by_label("Certificado que te dio ARCA").set_input_files(garbage)
    pending.get_by_role("button", name="Subir certificado").click()
    expect(page.locator(".pending-certificate .field-error")).to_contain_text(
        "no es un certificado X.509"
    )

    # What the ARCA portal does with the CSR, done by the sandbox's CA.
    with live_app.app_context():
        issued = get_arca().sandbox().ca.issue_certificate(csr)
    certificate = tmp_path / "renovacion-2026.crt"
    certificate.write_bytes(issued)
    pending = page.locator(".pending-certificate")
    pending.get_by_label("Certificado que te dio ARCA").set_input_files(certificate)
    pending.get_by_role("button", name="Subir certificado").click()
    expect(page.get_by_text("Certificado «renovacion-2026» cargado y activo.")).to_be_visible()
    expect(page.locator(".pending-certificate")).to_have_count(0)
    row = page.locator("#certificates tbody tr", has_text="renovacion-2026")
    expect(row).to_contain_text("Activo")
