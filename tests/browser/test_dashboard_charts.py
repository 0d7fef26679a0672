"""The dashboard's charts in Chromium, in Spanish and in English: the SVG columns are drawn,
this month's column and its numbers match the month's total, the numbers open with one click,
and nothing logs a console error (the page fixture fails the test on one)."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from playwright.sync_api import Page, expect

from arca.codes import IssuerCondition
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from tests.browser.test_auth_flow import log_in
from tests.factories import PASSWORD, add_member, make_user
from tests.integration.test_invoices import authorize, certified, customer, draft


def seed(app: Flask) -> str:
    """A monotributista with two authorized invoices this month; returns the month (ISO)."""
    with app.app_context():
        organization_id = certified(IssuerCondition.MONOTRIBUTO)
        buyer = customer(organization_id, "30-70000000-8", "1", "Estudio Gráfico SA")
        lines = [Line("Diseño", Decimal("1"), Decimal("250000"))]
        authorize(draft(organization_id, lines, customer_id=buyer).id)
        authorize(draft(organization_id, [Line("Consulta", Decimal("1"), Decimal("1234.5"))]).id)
        owner = make_user(email="graficos@example.com")
        add_member(db.session.get_one(Organization, organization_id), owner, "owner")
        return arca_today(get_arca()).replace(day=1).isoformat()


def test_charts_render_with_the_months_numbers_in_spanish_and_english(
    page: Page, live_app: Flask
) -> None:
    month = seed(live_app)
    log_in(page, "graficos@example.com", PASSWORD)
    column = page.locator(f'#chart-monthly g.chart-month[data-month="{month}"]')
    expect(column.locator("rect.chart-bar")).to_have_count(1)
    expect(column).to_have_attribute("data-total", "251234.50")
    expect(page.locator("#month-total")).to_have_text("$ 251.234,50")

    numbers = page.locator(f'#chart-monthly-table tr[data-month="{month}"] .month-total')
    expect(numbers).to_be_hidden()
    page.locator("#chart-monthly summary").click()
    expect(numbers).to_have_text("$ 251.234,50")
    expect(page.locator("#chart-customers")).to_contain_text("Estudio Gráfico SA")
    expect(page.locator("#monotributo-gauge svg path.gauge-fill")).to_have_count(1)

    page.get_by_label("Idioma").select_option(label="English")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#chart-monthly-title")).to_have_text("Invoiced per month")
    expect(column.locator("rect.chart-bar")).to_have_count(1)
    expect(column).to_have_attribute("data-total", "251234.50")
    page.locator("#chart-monthly summary").click()
    expect(numbers).to_have_text("$ 251.234,50")


def test_charts_fit_a_phone(page: Page, live_app: Flask) -> None:
    month = seed(live_app)
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, "graficos@example.com", PASSWORD)
    chart = page.locator("#chart-monthly svg.chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] <= 375
    expect(page.locator(f'#chart-monthly g.chart-month[data-month="{month}"] rect')).to_have_count(
        1
    )
