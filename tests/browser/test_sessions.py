"""Mi cuenta → Sesiones in Chromium: two browsers signed in, one closes the other (htmx), then
closes them all (a confirmation first) and lands on the login page."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from playwright.sync_api import Page, expect

from core.db import db
from tests.factories import PASSWORD, make_organization, make_user

EMAIL = "ana@example.com"


def log_in(page: Page, remember: bool = False) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Contraseña").fill(PASSWORD)
    if remember:
        page.get_by_label("Recordarme en este dispositivo").check()
    page.get_by_role("button", name="Ingresar").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_close_another_session_then_all(live_app: Flask, pages: Callable[[], Page]) -> None:
    with live_app.app_context():
        make_organization(owner=make_user(email=EMAIL), legal_name="Almacén Demo SRL")
        db.session.remove()
    here, other = pages(), pages()
    log_in(here)
    log_in(other, remember=True)

    here.goto("/account/sessions")
    rows = here.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Esta sesión")
    expect(rows.nth(1)).to_contain_text("Recordada en este dispositivo")
    rows.nth(1).get_by_role("button", name="Cerrar").click()
    expect(rows).to_have_count(1)

    other.goto("/")
    expect(other).to_have_url(re.compile(r"/auth/login\?next="))

    here.once("dialog", lambda dialog: dialog.accept())
    here.get_by_role("button", name="Cerrar todas (también esta)").click()
    expect(here).to_have_url(re.compile(r"/auth/login$"))
    here.goto("/account/sessions")
    expect(here).to_have_url(re.compile(r"/auth/login\?next="))
