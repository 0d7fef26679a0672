"""Two-factor, driven like a person: enrol reading the secret off the page (an authenticator
app's job, done here with pyotp), then log in with a code and with a recovery code."""

from __future__ import annotations

import re
import time

import pyotp
from flask import Flask
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, make_organization, make_user

EMAIL = "ana@example.com"
BUSINESS = "Almacén Dos Pasos SRL"


def log_in_with_password(page: Page) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Ingresar").click()


def expect_dashboard(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(BUSINESS)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Salir").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))


def expect_code_step(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/auth/two-factor$"))
    expect(page.get_by_role("heading", name="Verificación en dos pasos")).to_be_visible()
    expect(page.get_by_role("button", name="Salir")).to_have_count(0)  # not logged in yet


def test_enrol_then_log_in_with_a_code_and_with_a_recovery_code(
    page: Page, live_app: Flask
) -> None:
    with live_app.app_context():
        make_organization(owner=make_user(EMAIL, name="Ana García"), legal_name=BUSINESS)
    log_in_with_password(page)
    expect_dashboard(page)

    page.goto("/account/two-factor")
    page.get_by_role("button", name="Activar la verificación en dos pasos").click()
    expect(page.locator("svg.qr-code")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Código", exact=True).fill(totp.now())
    page.get_by_role("button", name="Confirmar y activar").click()
    expect(page.get_by_text("Activaste la verificación en dos pasos.")).to_be_visible()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10, codes
    page.get_by_role("link", name="Ya los guardé").click()
    expect(page.get_by_text("Activada", exact=True)).to_be_visible()

    log_out(page)
    log_in_with_password(page)
    expect_code_step(page)
    # The enrolment spent this step's code; the next step's is within the window and unused.
    page.get_by_label("Código", exact=True).fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verificar").click()
    expect_dashboard(page)

    log_out(page)
    log_in_with_password(page)
    expect_code_step(page)
    page.get_by_label("Código", exact=True).fill(codes[0])
    page.get_by_role("button", name="Verificar").click()
    expect_dashboard(page)
    expect(page.get_by_text("Ingresaste con un código de recuperación")).to_contain_text(
        "Te quedan 9"
    )
