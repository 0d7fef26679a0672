"""Issue #17's acceptance in Chromium: new customer → type a CUIT of the sandbox padrón → name,
address and IVA condition filled, with the lookup's date; an unknown CUIT is explained."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.test_auth_flow import expect_dashboard, sign_up
from tests.browser.test_invoices import get_certified


def test_typing_a_padron_cuit_fills_the_customer(page: Page, live_app: Flask) -> None:
    # A CUIT of its own: WSAA refuses a second ticket for the same subject within its window,
    # and the live sandbox outlives each test (see test_invoices).
    sign_up(page, cuit="30-71234543-4", app=live_app)
    expect_dashboard(page)
    get_certified(page)

    page.goto("/customers/new")
    page.get_by_label("Tipo de documento").select_option(label="CUIT")
    page.get_by_label("Número de documento").fill("20-12345678-6")  # the padrón's monotributista
    expect(page.get_by_label("Nombre o razón social")).to_have_value("PEREYRA JUAN CARLOS")
    expect(page.get_by_label("Domicilio")).to_have_value("SAN MARTIN 455, ROSARIO (2000), SANTA FE")
    condition = page.get_by_label("Condición frente al IVA")
    expect(condition.locator("option:checked")).to_have_text("Responsable Monotributo")
    expect(page.locator("#padron-source")).to_have_text(
        re.compile(r"Datos del padrón de ARCA al \d{2}/\d{2}/\d{4}")
    )

    # The button asks again for another CUIT; an unknown one is explained, the fields stay.
    page.get_by_label("Número de documento").fill("20-30111222-0")
    page.get_by_role("button", name="Buscar en el padrón de ARCA").click()
    expect(page.locator("#padron-message")).to_contain_text("ARCA no tiene a nadie con la CUIT")
    expect(page.get_by_label("Nombre o razón social")).to_have_value("PEREYRA JUAN CARLOS")

    # The company: saved as filled.
    page.get_by_label("Número de documento").fill("30-71234567-1")
    expect(page.get_by_label("Nombre o razón social")).to_have_value("TALLERES DEL PLATA S.A.")
    expect(condition.locator("option:checked")).to_have_text("IVA Responsable Inscripto")
    page.get_by_role("button", name="Guardar cliente").click()
    expect(page.get_by_text("Agregaste a «TALLERES DEL PLATA S.A.».")).to_be_visible()
