"""Points of sale in Chromium: sync from the sandbox, last numbers, edit, add by hand."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, Problems
from tests.browser.test_auth_flow import sign_up


def activate_sandbox_certificate(page: Page) -> None:
    page.goto("/certificates/")
    page.get_by_role("button", name="Generar", exact=True).click()
    page.locator(".pending-certificate").get_by_role(
        "button", name="Emitir con la CA de prueba"
    ).click()
    expect(page.locator("#active-certificate .badge-success", has_text="Activo")).to_be_visible()


def test_sync_refresh_edit_and_add_by_hand(
    page: Page, live_app: Flask, browser_problems: Problems
) -> None:
    sign_up(page, cuit="30-71234572-8", app=live_app)
    activate_sandbox_certificate(page)
    page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Puntos de venta"
    ).click()
    expect(page).to_have_url(re.compile(r"/points-of-sale/$"))
    expect(page.get_by_text("Todavía no hay puntos de venta")).to_be_visible()

    page.get_by_role("button", name="Sincronizar con ARCA").click()
    expect(
        page.get_by_text("ARCA informó 6 puntos de venta; 6 nuevos en la lista.")
    ).to_be_visible()
    cards = page.locator("article.point-of-sale")
    expect(cards).to_have_count(6)  # the sandbox's 5 CAE points of sale and its CAEA one
    first = cards.first
    expect(first.locator(".point-number")).to_have_text("00001")
    expect(first).to_contain_text("El de la organización: Av. Corrientes 1234, CABA")

    first.get_by_role("button", name="Actualizar").click()
    expect(first).to_contain_text("ARCA informó los últimos números de 00001.")
    expect(first.get_by_text("próximo: 1")).to_have_count(6)

    first.get_by_text("Editar nombre y domicilio").click()
    first.get_by_label("Nombre").fill("Local centro")
    first.get_by_label("Domicilio en los comprobantes").fill("Florida 100, CABA")
    first.get_by_role("button", name="Guardar").click()
    expect(first).to_contain_text("Guardamos el punto de venta 00001.")
    expect(first.get_by_role("heading")).to_have_text("00001 Local centro")
    expect(first).to_contain_text("Florida 100, CABA")

    # A repeated number comes back under 422 (by design), which Chromium logs.
    browser_problems.allow_http_error(422, "/points-of-sale/add")
    adding = page.locator("#add-point-of-sale")
    adding.get_by_label("Número").fill("3")
    adding.get_by_role("button", name="Agregar", exact=True).click()
    expect(page.locator("#add-point-of-sale .field-error")).to_have_text(
        "El punto de venta 00003 ya está en la lista."
    )
    page.locator("#add-point-of-sale").get_by_label("Número").fill("12")
    page.locator("#add-point-of-sale").get_by_role("button", name="Agregar", exact=True).click()
    expect(page.get_by_text("Agregaste el punto de venta 00012.")).to_be_visible()
    expect(cards).to_have_count(7)
    expect(cards.last).to_contain_text("No figura en ARCA")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "points-of-sale.png"), full_page=True)

    page.goto("/")
    expect(page.locator("#setup-step-point_of_sale")).to_have_class(re.compile(r"is-done"))
