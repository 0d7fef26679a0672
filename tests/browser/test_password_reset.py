"""A person who forgot the password resets it from the email a real SMTP server on loopback
received (aiosmtpd), then logs in with the new one (issue #15, acceptance)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import Problems
from tests.factories import PASSWORD, make_organization, make_user
from tests.integration.security.account_mail import messages_to, texts
from tests.integration.test_mail import Inbox, free_port, mail_url, smtp_server
from tests.tasks import run_until_settled

EMAIL = "ana@example.com"
NEW_PASSWORD = "tres-tigres-tragan-trigo"


@pytest.fixture
def inbox(live_app: Flask) -> Iterator[Inbox]:
    port = free_port()
    with smtp_server(port) as received, mail_url(live_app, f"smtp://127.0.0.1:{port}"):
        yield received


def test_reset_the_password_from_the_email_and_log_in_with_the_new_one(
    page: Page, live_app: Flask, live_server: str, inbox: Inbox, browser_problems: Problems
) -> None:
    # The refused old password comes back as a form with its error (4xx, logged by Chromium).
    browser_problems.allow_http_error(401, "/auth/login")
    browser_problems.allow_http_error(422, "/auth/login")
    with live_app.app_context():
        make_organization(owner=make_user(email=EMAIL, name="Ana"), legal_name="Almacén Demo SRL")

    page.goto("/auth/login")
    page.get_by_role("link", name="¿Olvidaste tu contraseña?").click()
    expect(page.get_by_role("heading", name="¿Olvidaste tu contraseña?")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Enviarme el enlace").click()
    expect(
        page.get_by_text("Si hay una cuenta con ese email, te enviamos un enlace")
    ).to_be_visible()

    with live_app.app_context():
        run_until_settled()  # the worker's part: the outbox hands the message to the server
    (message,) = messages_to(inbox, EMAIL)
    text, _html = texts(message)
    match = re.search(re.escape(live_server) + r"/auth/password/reset/\S+", text)
    assert match is not None, text

    page.goto(match.group(0))
    expect(page).to_have_url(re.compile(r"/auth/password/reset$"))  # the token left the URL
    page.get_by_label("Contraseña nueva", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repetí la contraseña nueva").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Guardar la contraseña").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.get_by_text("Cambiaste tu contraseña: ingresá con la nueva.")).to_be_visible()

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Contraseña").fill(PASSWORD)  # the old one no longer opens the door
    page.get_by_role("button", name="Ingresar").click()
    expect(page.get_by_text("El email o la contraseña no son correctos.")).to_be_visible()

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Contraseña").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name="Salir")).to_be_visible()
