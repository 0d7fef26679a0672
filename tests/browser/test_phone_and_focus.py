"""A phone's width (390 px): no page scrolls sideways, the invoice editor's lines stack as cards.
And a form sent back with errors puts the cursor on its first invalid field."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.conftest import Problems
from tests.browser.test_auth_flow import sign_up
from tests.browser.test_customers import create_customer
from tests.browser.test_every_page import Seeded, log_in, seed_organization


@pytest.fixture
def seeded(live_app: Flask) -> Seeded:
    return seed_organization(live_app)


PHONE: ViewportSize = {"width": 390, "height": 844}
MAIN_PAGES = (
    "/",
    "/invoices/",
    "/invoices/new",
    "/customers/",
    "/certificates/",
    "/points-of-sale/",
    "/organizations/members",
    "/organizations/settings",
    "/arca/parameters",
)


def scrolls_sideways(page: Page) -> bool:
    width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return bool(width[0] > width[1])


def test_no_main_page_scrolls_sideways_on_a_phone(
    page: Page, live_app: Flask, seeded: Seeded
) -> None:
    page.set_viewport_size(PHONE)
    log_in(page)
    pages = [
        *MAIN_PAGES,
        f"/invoices/{seeded.invoice_ids['authorized']}",
        f"/customers/{seeded.customer_id}",
    ]
    wide = []
    for path in pages:
        page.goto(path)
        if scrolls_sideways(page):
            wide.append(path)
    assert not wide, f"pages wider than 390 px: {wide}"


def test_invoice_editor_lines_are_fillable_cards_on_a_phone(page: Page, seeded: Seeded) -> None:
    page.set_viewport_size(PHONE)
    log_in(page)
    page.goto("/invoices/new")
    page.get_by_label("Los precios incluyen IVA").set_checked(False)
    page.get_by_role("button", name="Agregar línea").click()
    expect(page.locator("#line-1")).to_be_visible()
    for index, (description, quantity, price) in enumerate(
        (("Yerba mate", "2", "1.000,00"), ("Azúcar", "1", "500"))
    ):
        row = page.locator(f"#line-{index}")
        fields = {
            "Descripción": description,
            "Cantidad": quantity,
            "Precio": price,
            "Bonificación": "0",
        }
        for label, value in fields.items():
            field = row.get_by_label(re.compile(label))
            field.scroll_into_view_if_needed()
            expect(field).to_be_visible()
            box = field.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (
                label,
                box,
            )
            field.fill(value)
        vat = row.get_by_label(re.compile("IVA"))
        vat.select_option(label="21 %")
        # Each card shows its column names (copied from the table's head).
        expect(row.locator("td").nth(1)).to_have_attribute("data-label", "Cantidad")
    expect(page.locator("#total-total")).to_contain_text("3.025,00")
    assert not scrolls_sideways(page)


def test_rejected_sign_up_focuses_the_invalid_cuit(page: Page, browser_problems: Problems) -> None:
    browser_problems.allow_http_error(422, "/auth/signup")
    sign_up(page, cuit="30-71234567-2")
    cuit = page.get_by_label("CUIT")
    expect(cuit).to_have_attribute("aria-invalid", "true")
    expect(cuit).to_be_focused()


def test_rejected_htmx_form_focuses_its_invalid_field(
    page: Page, seeded: Seeded, browser_problems: Problems
) -> None:
    """The invite form is swapped in by htmx with its errors (422): the cursor follows."""
    log_in(page)
    page.goto("/organizations/members")
    browser_problems.allow_http_error(422, "/organizations/members/invite")
    invite = page.locator("form.invite-form")
    invite.get_by_label("Email").fill("no-es-un-email")
    invite.get_by_role("button", name="Crear invitación").click()
    email = page.locator("form.invite-form").get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()


def test_rejected_customer_form_focuses_the_document(
    page: Page, seeded: Seeded, browser_problems: Problems
) -> None:
    log_in(page)
    browser_problems.allow_http_error(422, "/customers/new")
    create_customer(page, "Ferretería Sur SRL", "30-71234567-0", "IVA Responsable Inscripto")
    number = page.get_by_label("Número de documento")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_be_focused()
