"""Auditoría in Chromium: the owner opens it from the menu and filters by actor and by action;
the table follows the filters (and the address bar keeps them)."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from blueprints.audit.services import record_event
from blueprints.auth.models import User
from core.db import db
from tests.browser.test_auth_flow import log_in
from tests.factories import PASSWORD, add_member, make_organization, make_user


def seed(app: Flask) -> None:
    """An owner and an accountant; the accountant added two customers and changed one."""
    with app.app_context():
        owner = make_user(email="duena@example.com", name="Dueña")
        organization = make_organization(owner=owner, legal_name="Almacén Auditado SRL")
        add_member(organization, make_user(email="conta@example.com"), "accountant")
        accountant = db.session.scalars(select(User).where(User.email == "conta@example.com")).one()
        for action, name in [
            ("customer.created", "Kiosco Azul"),
            ("customer.created", "Ferretería Sur"),
            ("customer.updated", "Kiosco Azul"),
        ]:
            record_event(db.session, organization.id, action, accountant, details={"name": name})
        db.session.commit()


def test_the_owner_filters_the_log_by_actor_and_by_action(page: Page, live_app: Flask) -> None:
    seed(live_app)
    log_in(page, "duena@example.com", PASSWORD)
    page.get_by_role("navigation").get_by_role("link", name="Auditoría").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Auditoría")
    rows = page.locator("#audit-rows tr.audit-entry")
    expect(rows).to_have_count(4)  # the three changes and this sign-in
    expect(rows.first).to_contain_text("Inició sesión")

    page.get_by_label("Quién").fill("conta@example.com")
    page.get_by_label("Quién").press("Enter")
    expect(rows).to_have_count(3)
    expect(page).to_have_url(re.compile(r"actor=conta%40example\.com"))

    page.get_by_label("Acción").select_option(label="Agregó un cliente")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Ferretería Sur")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"accion=customer\.created"))

    page.get_by_label("Quién").fill("")
    page.get_by_label("Acción").select_option(label="Inició sesión")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("duena@example.com")
