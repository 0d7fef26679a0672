"""Closing an organization in Chromium: the CUIT and the owner's password are asked for; then
the organization is read-only and says so."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import Problems
from tests.browser.test_auth_flow import PASSWORD, sign_up

CUIT = "30-71234567-1"
READ_ONLY = "La organización está cerrada: sólo lectura."


def test_closing_asks_for_the_cuit_and_password_then_it_is_read_only(
    page: Page, live_app: Flask, browser_problems: Problems
) -> None:
    sign_up(page, cuit=CUIT, app=live_app)
    page.goto("/organizations/close")
    expect(page.get_by_role("heading", name="Cerrar la organización")).to_be_visible()
    form = page.locator("#close-organization form")

    browser_problems.allow_http_error(422, "/organizations/close")
    form.get_by_label("CUIT de la organización").fill("20-27654321-1")
    form.get_by_label("Tu contraseña").fill(PASSWORD)
    form.get_by_role("button", name="Cerrar la organización").click()
    expect(page.get_by_text("El CUIT no coincide con el de la organización.")).to_be_visible()

    form.get_by_label("CUIT de la organización").fill(CUIT)
    form.get_by_label("Tu contraseña").fill("no-es-esta")
    form.get_by_role("button", name="Cerrar la organización").click()
    expect(page.get_by_text("La contraseña no es correcta.")).to_be_visible()

    form.get_by_label("CUIT de la organización").fill(CUIT)
    form.get_by_label("Tu contraseña").fill(PASSWORD)
    form.get_by_role("button", name="Cerrar la organización").click()
    expect(
        page.get_by_text(re.compile(r"Cerraste .*: queda en modo sólo lectura\."))
    ).to_be_visible()
    expect(page.get_by_text(re.compile(r"está cerrada desde el"))).to_be_visible()

    # Pages still open; saving the organization's details is refused with the reason.
    browser_problems.allow_http_error(403, "/organizations/settings")
    page.goto("/organizations/settings")
    page.get_by_label("Razón social").fill("Otro nombre SRL")
    page.get_by_role("button", name="Guardar").click()
    expect(page.get_by_text(READ_ONLY).first).to_be_visible()
