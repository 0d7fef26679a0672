"""Sign-up, log out, log in, invitations and the language switch, driven like a person would."""

from __future__ import annotations

import email as email_lib
import re
from collections.abc import Callable
from email.policy import default

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.db import db
from core.mail import MailMessage
from tests.browser.conftest import Problems

PASSWORD = "una-clave-bien-larga"
LEGAL_NAME = "Almacén Demo SRL"
TRADE_NAME = "Almacén Demo"


def sign_up(
    page: Page,
    email: str = "ana@example.com",
    cuit: str = "30-71234567-1",
    app: Flask | None = None,
) -> None:
    """The sign-up form, then the login; with the live `app`, also the emailed verification
    link (certificates and API keys wait for a confirmed email)."""
    page.goto("/auth/signup")
    page.get_by_label("Tu nombre").fill("Ana García")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_label("CUIT").fill(cuit)
    page.get_by_label("Condición frente al IVA").select_option(label="IVA Responsable Inscripto")
    page.get_by_label("Razón social").fill(LEGAL_NAME)
    page.get_by_label("Nombre de fantasía").fill(TRADE_NAME)
    page.get_by_label("Ingresos Brutos (N.º)").fill("901-123456-7")
    page.get_by_label("Inicio de actividades").fill("2019-03-01")
    page.get_by_label("Domicilio comercial").fill("Av. Corrientes 1234, CABA")
    with page.expect_navigation():
        page.get_by_role("button", name="Crear cuenta").click()
    if page.url.endswith("/auth/signup/check-email"):
        # The form logs nobody in (it answers the same when the email has an account): the
        # person logs in, and works before confirming the address.
        log_in(page, email)
        if app is not None:
            page.goto(verification_link(app, email))


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Ingresar").click()


def verification_link(app: Flask, email: str) -> str:
    """The verification link of the last message queued to `email` (read from the outbox)."""
    with app.app_context():
        mime = db.session.scalars(
            select(MailMessage.mime)
            .where(MailMessage.to == email, MailMessage.kind == "account.verify")
            .order_by(MailMessage.id.desc())
        ).first()
        db.session.commit()
    assert mime is not None
    message = email_lib.message_from_bytes(mime, policy=default)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"https?://\S+(/auth/verify/\S+)", text)
    assert match is not None, text
    return match.group(1)


def expect_dashboard(page: Page, organization: str = TRADE_NAME) -> None:
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(organization)
    expect(page.get_by_role("heading", name="Primeros pasos para facturar")).to_be_visible()


def test_sign_up_log_out_and_log_in_again(page: Page) -> None:
    sign_up(page)
    expect_dashboard(page)
    expect(
        page.get_by_text("Confirmá tu email: te enviamos un enlace a ana@example.com")
    ).to_be_visible()
    expect(page.get_by_text(LEGAL_NAME)).to_be_visible()
    # Chromium keeps the app's Secure session cookie on http://127.0.0.1 (a trustworthy origin).
    session = [c for c in page.context.cookies() if c["name"] == "talonario_session"]
    assert session and session[0]["secure"] and session[0]["httpOnly"], session

    page.get_by_role("button", name="Salir").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.get_by_text("Cerraste la sesión.")).to_be_visible()
    expect(page.get_by_role("button", name="Salir")).to_have_count(0)

    # The session is really over: the dashboard sends us back to the login page.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))

    page.get_by_label("Email").fill("ana@example.com")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect_dashboard(page)
    expect(page.get_by_role("button", name="Salir")).to_be_visible()


def test_wrong_cuit_check_digit_is_shown_next_to_the_field(
    page: Page, browser_problems: Problems
) -> None:
    # The form comes back with its errors under 422 (by design), which Chromium logs.
    browser_problems.allow_http_error(422, "/auth/signup")
    sign_up(page, cuit="30-71234567-2")
    expect(page).to_have_url(re.compile(r"/auth/signup$"))
    expect(page.get_by_role("heading", name="Registrá tu negocio")).to_be_visible()
    cuit = page.get_by_label("CUIT")
    expect(cuit).to_have_attribute("aria-invalid", "true")
    # The message is the field's own error, tied to it by aria-describedby.
    error = page.locator("#cuit-error")
    expect(error).to_contain_text("no es válido: el dígito verificador no coincide")
    expect(cuit).to_have_attribute("aria-describedby", re.compile(r"\bcuit-error\b"))
    expect(page.locator(".field", has=cuit)).to_contain_text(
        "no es válido: el dígito verificador no coincide"
    )
    # What was typed stays (but never the password).
    expect(page.get_by_label("Razón social")).to_have_value(LEGAL_NAME)
    expect(page.get_by_label("Contraseña")).to_have_value("")


def test_invite_an_accountant_who_signs_up_from_the_link(
    page: Page, pages: Callable[[], Page], live_app: Flask
) -> None:
    sign_up(page)
    expect_dashboard(page)
    page.get_by_role("navigation", name="Principal").get_by_role("link", name="Equipo").click()
    expect(page.get_by_role("heading", name="Equipo", level=1)).to_be_visible()

    # A marker on the window survives an htmx swap, not a full page load.
    page.evaluate("window.__noReload = true")
    page.get_by_label("Email").fill("contador@example.com")
    page.get_by_label("Rol", exact=True).select_option(label="Contador/a (ver y exportar)")
    page.get_by_role("button", name="Crear invitación").click()

    link = page.get_by_label("Enlace de invitación")
    expect(link).to_have_value(re.compile(r"/organizations/invitations/[^/]+$"))
    row = page.get_by_role("row").filter(has_text="contador@example.com")
    expect(row).to_contain_text("Invitación pendiente")
    expect(row.get_by_role("combobox")).to_have_value("accountant")
    assert page.evaluate("window.__noReload") is True, "the invitation reloaded the whole page"
    invite_url = link.input_value()

    guest = pages()  # someone else, in a browser of their own: no session
    guest.goto(invite_url)
    expect(guest.get_by_role("heading", name=f"Te invitaron a {TRADE_NAME}")).to_be_visible()
    guest.get_by_role("link", name="Crear mi usuario y aceptar").click()
    expect(guest.get_by_role("heading", name=f"Sumate a {TRADE_NAME}")).to_be_visible()
    expect(guest.get_by_label("Email")).to_have_value("contador@example.com")
    guest.get_by_label("Tu nombre").fill("Carlos Contador")
    guest.get_by_label("Contraseña").fill("otra-clave-bien-larga")
    guest.get_by_role("button", name="Crear cuenta").click()
    expect(guest.get_by_role("heading", name="Revisá tu email")).to_be_visible()
    # The invitation takes effect once the address is confirmed: log in, open the emailed link.
    log_in(guest, "contador@example.com", "otra-clave-bien-larga")
    # The login's answer (and its session cookie) must be in before the link is opened: a link
    # opened meanwhile flashes into the session the login then replaces (seen under load in CI).
    expect(guest).not_to_have_url(re.compile(r"/auth/login"))
    guest.goto(verification_link(live_app, "contador@example.com"))
    expect_dashboard(guest)
    expect(guest.get_by_text("Confirmaste tu email.")).to_be_visible()
    expect(guest.locator(".user-name")).to_have_text("Carlos Contador")

    # And the owner's members list now shows the accountant as active.
    page.reload()
    row = page.get_by_role("row").filter(has_text="contador@example.com")
    expect(row).to_contain_text("Activo")
    expect(row).to_contain_text("Carlos Contador")


def test_language_switch_sets_html_lang_and_persists(page: Page) -> None:
    page.goto("/auth/login")
    expect(page.locator("html")).to_have_attribute("lang", "es-AR")
    language = page.get_by_label("Idioma")
    expect(language).to_have_value("es")
    # No button press: static/js/app.js submits the form when the select changes.
    expect(page.locator(".language-form button[type=submit]")).to_be_hidden()
    language.select_option(label="English")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/auth/login\??$"))

    # The choice is kept (in the session) on the next page.
    page.goto("/auth/signup")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#locale")).to_have_value("en")


def test_signed_in_language_choice_is_kept_across_pages(page: Page) -> None:
    sign_up(page)
    expect_dashboard(page)
    page.get_by_label("Idioma").select_option(label="English")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/\??$"))
    # "Equipo", whatever its English text turns out to be.
    page.get_by_role("navigation").locator('a[href$="/organizations/members"]').click()
    expect(page).to_have_url(re.compile(r"/organizations/members$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#locale")).to_have_value("en")
