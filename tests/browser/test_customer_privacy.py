"""Data governance in Chromium (issue #16): an owner downloads a customer's data and erases it
(the typed confirmation asked for first), then exports everything of the organization from its
settings page and downloads the ZIP."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from core.tasks import run_worker
from tests.browser.conftest import Problems
from tests.browser.test_auth_flow import expect_dashboard, sign_up
from tests.browser.test_customers import create_customer


def test_a_customer_is_exported_then_erased(
    page: Page, live_app: Flask, browser_problems: Problems
) -> None:
    sign_up(page)
    expect_dashboard(page)
    create_customer(page, "Kiosco Norte", "20-11111111-2", "Responsable Monotributo", "k@n.example")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kiosco Norte")
    customer_page = re.sub(r"^https?://[^/]+", "", page.url)

    with page.expect_download() as download:
        page.get_by_role("button", name="Exportar datos del cliente").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        document = json.loads(archive.read("customer.json"))
    assert document["customer"]["emails"] == "k@n.example"

    # The erasure asks for the word first; a wrong one is explained and nothing happens.
    browser_problems.allow_http_error(422, f"{customer_page}/privacy/erase")
    page.locator("summary", has_text="Borrar datos del cliente").click()
    page.get_by_label("Escribí «borrar» para confirmar").fill("sí")
    page.get_by_role("button", name="Borrar datos del cliente").click()
    expect(page.locator("#customer-privacy-error")).to_have_text(
        "Escribí «borrar» para confirmar el borrado."
    )
    page.get_by_label("Escribí «borrar» para confirmar").fill("borrar")
    page.get_by_role("button", name="Borrar datos del cliente").click()
    expect(page).to_have_url(re.compile(r"/customers/$"))
    expect(page.get_by_text("Borramos a «Kiosco Norte» y todos sus datos.")).to_be_visible()


def test_an_owner_exports_everything_from_the_settings_page(
    page: Page, live_app: Flask, browser_problems: Problems
) -> None:
    sign_up(page)
    expect_dashboard(page)
    page.goto("/organizations/settings")
    page.get_by_role("link", name="Exportar todos los datos").click()
    expect(page).to_have_url(re.compile(r"/exports/organization$"))
    page.get_by_role("button", name="Exportar todos los datos").click()
    expect(page.locator("#export-progress")).to_be_visible()
    with live_app.app_context():
        run_worker(burst=True)
    with page.expect_download() as download:
        page.locator("#export-download").click()
    path = Path(download.value.path())
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        organization = json.loads(archive.read("organization.json"))
    assert {"manifest.json", "README.txt", "audit.jsonl", "invoices.json"} <= names
    assert organization[0]["cuit"] == "30712345671"
